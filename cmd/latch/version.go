package main

import (
	"fmt"
	"runtime/debug"
)

// version reports the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v + " " + bi.GoVersion
}

const versionUsage = `Usage: latch version

Prints the module version, VCS revision and Go version of this binary.
`

func versionCmd(env *environ, args []string) error {
	switch {
	case len(args) == 0:
		fmt.Fprintln(env.stdout, "latch", version())
		return nil
	case len(args) == 1 && isHelp(args[0]):
		fmt.Fprint(env.stdout, versionUsage)
		return nil
	}
	return usagef("version takes no arguments (see \"latch version --help\")")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
