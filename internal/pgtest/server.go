package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// errNoBinaries means no PostgreSQL installation was found: tests skip
// unless LATCH_REQUIRE_POSTGRES=1.
var errNoBinaries = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found; install Debian's postgresql package or set LATCH_PG_BINDIR")

// server is one running throwaway PostgreSQL cluster.
type server struct {
	dir    string // temp dir: data/ and the unix socket
	url    string // superuser URL of the "postgres" database
	bin    string // directory of initdb and postgres
	cred   *syscall.Credential
	cmd    *exec.Cmd     // the running (or last) postmaster
	exited chan struct{} // closed when that postmaster has exited
}

// bindir finds initdb and postgres: in $LATCH_PG_BINDIR if set (and only
// there), else pg_config --bindir, PATH, then the newest
// /usr/lib/postgresql/*/bin (Debian keeps the server binaries off PATH).
func bindir() (string, error) {
	var dirs []string
	if d := os.Getenv("LATCH_PG_BINDIR"); d != "" {
		dirs = append(dirs, d)
	} else {
		dirs = searchDirs()
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func searchDirs() []string {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return versionOf(b) - versionOf(a) })
	return append(dirs, debian...)
}

func versionOf(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// credential returns who the server runs as. initdb and postgres refuse to
// run as root, so as root (CI) they run as the "postgres" user that Debian's
// package creates, or "nobody".
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, errors.New("pgtest: running as root, but there is no postgres or nobody user to run PostgreSQL as")
}

// tempDir makes the cluster's directory. The socket path must stay under
// the 107-byte sun_path limit, so a long $TMPDIR falls back to /tmp.
func tempDir(cred *syscall.Credential) (string, error) {
	parent := os.TempDir()
	if len(parent) > 60 {
		parent = "/tmp"
	}
	sweepStale(parent)
	dir, err := os.MkdirTemp(parent, "latch-pgtest-")
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("pgtest: %w", err)
		}
	}
	return dir, nil
}

// start runs initdb and a postmaster that listens only on a unix socket in
// a fresh temp dir (mode 0700, so only this user and root can connect).
// Durability is off: the cluster is thrown away.
func start() (_ *server, err error) {
	bin, err := bindir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir(cred)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	s := &server{dir: dir, bin: bin, cred: cred, url: (&urlParts{dir: dir, db: "postgres"}).String()}
	logFile, err := s.openLog()
	if err != nil {
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", s.data(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Stdout, initdb.Stderr = dir, logFile, logFile
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	err = initdb.Run()
	logFile.Close()
	if err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, tail(s.logPath()))
	}
	if err := s.launch(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) data() string    { return filepath.Join(s.dir, "data") }
func (s *server) logPath() string { return filepath.Join(s.dir, "postgres.log") }

func (s *server) openLog() (*os.File, error) {
	f, err := os.OpenFile(s.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return f, nil
}

// launch starts the postmaster on the initialised data directory and waits
// until it accepts connections. The socket path, and so the URL, is the
// same every time.
func (s *server) launch() error {
	logFile, err := s.openLog()
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.exited = make(chan struct{})
	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data(), "-k", s.dir, "-p", "5432",
		"-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "log_min_messages=warning")
	s.cmd.Dir, s.cmd.Stdout, s.cmd.Stderr = s.dir, logFile, logFile
	// Pdeathsig: if the test binary dies without cleaning up (a panic, a
	// -timeout), the kernel tells the postmaster to shut down immediately.
	// Go applies it after the credential change, which would clear it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	cmd, exited := s.cmd, s.exited
	go func() {
		// Pdeathsig follows the thread that forked the child: keep this
		// goroutine on its thread until the postmaster is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		log := tail(s.logPath()) // before stop removes the directory
		s.halt(syscall.SIGQUIT)
		return fmt.Errorf("%w\n%s", err, log)
	}
	return nil
}

// waitReady polls until the server accepts connections, it exits, or the
// deadline passes.
func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("pgtest: postgres exited during start-up")
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres not ready after %v: %w", limit, err)
		}
	}
}

// stop shuts the server down the way "pg_ctl stop -m immediate" does
// (SIGQUIT), waits for it, and removes its directory.
func (s *server) stop() error {
	return errors.Join(s.halt(syscall.SIGQUIT), os.RemoveAll(s.dir))
}

// halt sends sig to the postmaster (SIGINT: fast shutdown, SIGQUIT:
// immediate) and waits until it has exited, killing the whole process group
// if it takes longer than 15s. It keeps the data directory.
func (s *server) halt(sig syscall.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
		return nil
	case <-time.After(15 * time.Second):
		// Kill the whole process group: backends included.
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("pgtest: postgres ignored %v; killed", sig)
	}
}

// sweepStale removes directories that earlier test binaries left behind
// when they crashed (Pdeathsig stopped their servers, but nothing removed
// the files): older than ten minutes and with no live postmaster.
func sweepStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "latch-pgtest-*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < 10*time.Minute {
			continue
		}
		if pid, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pid), "\n")
			if n, err := strconv.Atoi(first); err == nil {
				if err := syscall.Kill(n, 0); err == nil || errors.Is(err, syscall.EPERM) {
					continue // still running
				}
			}
		}
		os.RemoveAll(d)
	}
}

// tail returns the end of the server log, for start-up failures.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
