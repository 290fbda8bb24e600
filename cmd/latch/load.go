package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Where an option's value came from, lowest precedence first.
const (
	rankDefault = iota
	rankFile
	rankEnv
	rankFlag
)

// loadConfig parses a command's flags, fills every option not given on the
// command line from its LATCH_* variable or else from the config file
// (--config or LATCH_CONFIG), reads secrets from their files, and validates.
// Every problem is reported at once, as a usage error. extra adds the
// command's own flags, which come from the command line only.
//
// --help prints usageText and the flags on stdout and returns flag.ErrHelp.
// Any other problem writes nothing: stdout may be a file the caller meant
// for the command's output (latch clients add x > x.secret), and the one
// line main prints on stderr is the whole report.
func loadConfig(env *environ, name, usageText string, args []string, extra func(*flag.FlagSet)) (Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("latch "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed
	// The flag package calls Usage on every parse error, not only on
	// --help: print it below, for --help alone.
	fs.Usage = func() {}
	cfg.register(fs)
	shared := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { shared[f.Name] = true })
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(env.stdout, fs, usageText, shared, name == "serve")
			return cfg, err
		}
		return cfg, usagef("%v (see \"latch %s --help\")", err, name)
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q (see \"latch %s --help\")", fs.Arg(0), name)
	}
	cfg.serving = name == "serve"
	errs := cfg.layer(fs, shared, env.getenv)
	if err := cfg.finish(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		// Even with --print-config: a printout redirected to a file must not
		// look like a usable configuration when it is not one.
		return cfg, &usageError{errors.Join(errs...)}
	}
	if f := fs.Lookup("print-config"); f != nil && f.Value.String() == "true" {
		cfg.printConfig(env.stdout, fs, shared)
		return cfg, errConfigPrinted
	}
	return cfg, nil
}

// errConfigPrinted ends a command whose --print-config did its job.
var errConfigPrinted = errors.New("configuration printed")

// layer applies the environment and the config file under the flags
// already parsed into fs, records each option's origin, and resolves the
// --NAME-file twins of secret options.
func (c *Config) layer(fs *flag.FlagSet, shared map[string]bool, getenv func(string) string) []error {
	c.origin = map[string]string{}
	rank := map[string]int{}
	fs.Visit(func(f *flag.Flag) {
		if shared[f.Name] {
			c.origin[f.Name], rank[f.Name] = "flag --"+f.Name, rankFlag
		}
	})
	var errs []error
	c.unparsed = map[string]bool{}
	// set is fs.Set, but a value that does not parse leaves the option as
	// it was (the flag package stores the zero value first) and marks it,
	// so finish checks neither it nor what depends on it: the parse error
	// is the one report.
	set := func(name, value string) error {
		f := fs.Lookup(name)
		old := f.Value.String()
		err := fs.Set(name, value)
		if err != nil {
			f.Value.Set(old)
			c.unparsed[name] = true
		}
		return err
	}
	if rank["config"] < rankFlag {
		if v := getenv(envName("config")); v != "" {
			c.ConfigFile, c.origin["config"], rank["config"] = v, "env "+envName("config"), rankEnv
		}
	}
	var file map[string]fileEntry
	if c.ConfigFile != "" {
		var err error
		if file, err = readConfigFile(c.ConfigFile, shared); err != nil {
			errs = append(errs, err)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !shared[f.Name] || f.Name == "config" || rank[f.Name] == rankFlag {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s", envName(f.Name), setError(f.Name, v, err)))
			}
			c.origin[f.Name], rank[f.Name] = "env "+envName(f.Name), rankEnv
			return
		}
		if e, ok := file[f.Name]; ok {
			if err := set(f.Name, e.value); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s", c.ConfigFile, e.line, setError(f.Name, e.value, err)))
			}
			c.origin[f.Name], rank[f.Name] = fmt.Sprintf("file %s:%d", c.ConfigFile, e.line), rankFile
		}
	})
	for _, name := range sortedKeys(secretOptions) {
		twin := name + "-file"
		path := *c.secretFiles[name]
		switch {
		case path == "" || rank[twin] < rank[name]:
			continue
		case rank[twin] == rank[name]:
			errs = append(errs, fmt.Errorf("--%s and --%s both set (%s, %s): give one", name, twin, c.origin[name], c.origin[twin]))
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", twin, err))
			continue
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			errs = append(errs, fmt.Errorf("--%s: %s is empty", twin, path))
			continue
		}
		if err := set(name, v); err != nil {
			// Never echo the value: it is a secret.
			errs = append(errs, fmt.Errorf("--%s: %s does not hold a valid --%s", twin, path, name))
			continue
		}
		c.origin[name] = "read from --" + twin
	}
	return errs
}

// setError describes a rejected value, without the value when the option
// holds a secret.
func setError(name, value string, err error) string {
	if _, secret := secretOptions[name]; secret {
		return fmt.Sprintf("invalid value for --%s", name)
	}
	return fmt.Sprintf("invalid value %q for --%s: %v", value, name, unwrapFlagError(err))
}

// unwrapFlagError drops the flag package's own "parse error" wrapping.
func unwrapFlagError(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// fileEntry is one option in a config file.
type fileEntry struct {
	value string
	line  int
}

// readConfigFile reads a config file: one option per line as
// "name = value", names exactly the flags' names, "#" starting a comment.
// A value may be double-quoted (Go/TOML escapes), so a file whose strings
// are quoted is also valid TOML. Unknown and repeated names are errors, so
// a typo never silently leaves a default in place.
func readConfigFile(path string, known map[string]bool) (map[string]fileEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	return parseConfigFile(path, string(data), known)
}

func parseConfigFile(path, text string, known map[string]bool) (map[string]fileEntry, error) {
	out := map[string]fileEntry{}
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, err := parseConfigLine(line)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s:%d: %v", path, n, err))
		case name == "config":
			errs = append(errs, fmt.Errorf("%s:%d: a config file cannot name another config file", path, n))
		case !known[name]:
			errs = append(errs, fmt.Errorf("%s:%d: unknown option %q", path, n, name))
		case out[name].line != 0:
			errs = append(errs, fmt.Errorf("%s:%d: %q is already set on line %d", path, n, name, out[name].line))
		default:
			out[name] = fileEntry{value: value, line: n}
		}
	}
	return out, errors.Join(errs...)
}

func parseConfigLine(line string) (name, value string, err error) {
	name, rest, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", errors.New(`want "name = value"`)
	}
	name, rest = strings.TrimSpace(name), strings.TrimSpace(rest)
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return "", "", fmt.Errorf("bad option name %q (names are the flags' names, like access-token-ttl)", name)
	}
	if strings.HasPrefix(rest, `"`) {
		end := closingQuote(rest)
		if end < 0 {
			return "", "", errors.New("unterminated quoted value")
		}
		value, err = strconv.Unquote(rest[:end+1])
		if err != nil {
			return "", "", fmt.Errorf("bad quoted value: %v", err)
		}
		if tail := strings.TrimSpace(rest[end+1:]); tail != "" && tail[0] != '#' {
			return "", "", errors.New("text after the quoted value")
		}
		return name, value, nil
	}
	if i := strings.Index(rest, " #"); i >= 0 {
		rest = rest[:i]
	}
	return name, strings.TrimSpace(rest), nil
}

// closingQuote returns the index of the quote that ends the string s opens.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// printConfig writes the effective configuration as a config file, each
// line commented with where its value came from. Secrets are redacted: a
// secret read from a file is shown commented out.
func (c *Config) printConfig(w io.Writer, fs *flag.FlagSet, shared map[string]bool) {
	fmt.Fprintln(w, "# effective configuration of latch serve; secrets redacted")
	var rows [][3]string
	fs.VisitAll(func(f *flag.Flag) {
		if !shared[f.Name] {
			return
		}
		v := redactValue(f.Name, f.Value.String())
		origin := c.origin[f.Name]
		if origin == "" {
			origin = "default"
			if v != f.DefValue {
				origin = "derived"
			}
		}
		prefix := ""
		if strings.HasPrefix(origin, "read from") {
			prefix = "# " // the file is the source; keep the printout reusable
		}
		rows = append(rows, [3]string{prefix + f.Name, strconv.Quote(v), origin})
	})
	width := [2]int{}
	for _, r := range rows {
		width[0], width[1] = max(width[0], len(r[0])), max(width[1], len(r[1]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s = %-*s  # %s\n", width[0], r[0], width[1], r[1], r[2])
	}
}

// redactValue returns what may be shown of an option's value: secret
// options through their redactor, and the password of any URL whatever
// option holds it.
func redactValue(name, v string) string {
	if r, ok := secretOptions[name]; ok {
		return r(v)
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return v
}

// redactedAttrs is the effective configuration for the start-up log line.
func (c *Config) redactedAttrs() []any {
	cp := *c
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	cp.register(fs) // binds to cp, whose values are c's
	var out []any
	fs.VisitAll(func(f *flag.Flag) {
		if base, ok := strings.CutSuffix(f.Name, "-file"); !ok || secretOptions[base] == nil {
			out = append(out, f.Name, redactValue(f.Name, f.Value.String()))
		}
	})
	return out
}

// printUsage writes a command's help: its text, its own flags, and the
// configuration options (all of them for serve; the ones an admin command
// usually needs otherwise).
func printUsage(w io.Writer, fs *flag.FlagSet, usageText string, shared map[string]bool, all bool) {
	own := flag.NewFlagSet("", flag.ContinueOnError)
	opts := flag.NewFlagSet("", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		switch {
		case !shared[f.Name]:
			own.Var(f.Value, f.Name, f.Usage)
		case all || adminOption[f.Name]:
			opts.Var(f.Value, f.Name, f.Usage)
		}
	})
	hasOwn := false
	own.VisitAll(func(*flag.Flag) { hasOwn = true })
	if !hasOwn && !all {
		usageText = strings.TrimSuffix(usageText, "Flags:\n") // nothing of its own to list
	}
	fmt.Fprint(w, usageText)
	for _, s := range []*flag.FlagSet{own, opts} {
		s.SetOutput(w)
	}
	own.PrintDefaults()
	if all {
		opts.PrintDefaults()
		fmt.Fprint(w, "\nEvery option can also be set with its LATCH_* environment variable (--access-token-ttl\nis LATCH_ACCESS_TOKEN_TTL) or in the --config file (access-token-ttl = 15m).\nFlags override variables, which override the file. docs/configuration.md lists all.\n")
		return
	}
	fmt.Fprint(w, "\nConfiguration (also from LATCH_* variables and the --config file):\n")
	opts.PrintDefaults()
	fmt.Fprint(w, "  ...and every other option of latch serve (see latch serve --help).\n")
}

// adminOption marks the options admin commands list in their help.
var adminOption = map[string]bool{"config": true, "db": true, "db-file": true, "secret-file": true, "log-format": true, "log-level": true}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
