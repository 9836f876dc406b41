// Package devcluster runs a private PostgreSQL server for local development. The server keeps its
// data in one directory and listens only on a unix socket, so it never clashes with another server's
// TCP port and needs no configuration.
package devcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNoBinaries is returned by Start when initdb and pg_ctl cannot be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (looked in PATH and " + versionedBinGlob + ")")

const (
	versionedBinGlob = "/usr/lib/postgresql/*/bin"
	superuser        = "postgres"
	database         = "goalert"
	// port only names the socket file (.s.PGSQL.5432); the server opens no TCP port.
	port = "5432"
	// maxSocketDir keeps the socket path within sun_path (104 bytes on the BSDs, 108 on Linux).
	maxSocketDir = 100 - len("/.s.PGSQL."+port)
	readyTimeout = 30 * time.Second
)

// Cluster is a running development server.
type Cluster struct {
	dataDir string
	sockDir string
	// tempSockDir is set when the socket lives outside dataDir (its path would have been too long);
	// Stop removes it.
	tempSockDir bool
	pgCtl       string
	as          account
	logf        func(format string, args ...any)

	stopOnce sync.Once
	stopErr  error
}

// Start returns a server for the data directory dir, creating the cluster on first use (superuser
// postgres, trust authentication) and the database goalert if it is missing. A server already running
// on dir is reused. When the process runs as root, the server runs as the postgres system user, since
// PostgreSQL refuses to run as root; dir is then owned by that user. It returns ErrNoBinaries when
// initdb and pg_ctl are neither on PATH nor under /usr/lib/postgresql/*/bin.
func Start(ctx context.Context, dir string, logf func(format string, args ...any)) (*Cluster, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	initdb, pgCtl, err := findBinaries(os.Getenv("PATH"), versionedBinGlob)
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory %q: %w", dir, err)
	}
	as, err := serverAccount()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dataDir: dataDir, pgCtl: pgCtl, as: as, logf: logf}
	if err := c.initialize(ctx, initdb); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	if err := c.createDatabase(ctx); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

// URL returns a pgx connection string for the goalert database over the unix socket.
func (c *Cluster) URL() string { return c.url(database) }

func (c *Cluster) url(db string) string {
	return "postgres://" + superuser + "@/" + db + "?host=" + queryValue(c.sockDir) + "&sslmode=disable"
}

var plainQueryValue = regexp.MustCompile(`^[A-Za-z0-9/._-]+$`)

// queryValue escapes v only when it must, so that the usual socket path stays readable in the URL
// printed for a developer to copy.
func queryValue(v string) string {
	if plainQueryValue.MatchString(v) {
		return v
	}
	return url.QueryEscape(v)
}

// Stop shuts the server down (fast: open sessions are rolled back) and waits for it to exit. It stops
// a server that Start reused as well. Calling it again returns the first result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.logf("stopping PostgreSQL in %s", c.dataDir)
		err := c.as.run(context.Background(), c.pgCtl, "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "60")
		if err != nil {
			c.stopErr = fmt.Errorf("stop PostgreSQL in %s: %w", c.dataDir, err)
		}
		if c.tempSockDir {
			_ = os.Remove(c.sockDir)
		}
	})
	return c.stopErr
}

// initialize creates the cluster unless dataDir already holds one.
func (c *Cluster) initialize(ctx context.Context, initdb string) error {
	_, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION"))
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("inspect data directory %s: %w", c.dataDir, err)
	}
	// The parents must stay traversable by the server's account, so only dataDir itself is private.
	if err := os.MkdirAll(filepath.Dir(c.dataDir), 0o755); err != nil {
		return fmt.Errorf("create parent of data directory %s: %w", c.dataDir, err)
	}
	if err := os.Mkdir(c.dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create data directory %s: %w", c.dataDir, err)
	}
	if err := c.as.own(c.dataDir); err != nil {
		return err
	}
	c.logf("initializing PostgreSQL data directory %s", c.dataDir)
	// --locale=C: the developer's locale may not exist as a server locale, and C works with UTF8.
	err = c.as.run(ctx, initdb, "-D", c.dataDir, "-A", "trust", "-U", superuser, "--no-sync", "-E", "UTF8", "--locale=C")
	if err != nil {
		return fmt.Errorf("initialize data directory %s: %w", c.dataDir, err)
	}
	return nil
}

// start starts the server unless one is already running on dataDir, and records its socket directory.
func (c *Cluster) start(ctx context.Context) error {
	if sock, ok := c.running(ctx); ok {
		c.setSocketDir(sock)
		c.logf("reusing the PostgreSQL server already running in %s", c.dataDir)
		return nil
	}
	sock, err := c.makeSocketDir()
	if err != nil {
		return err
	}
	c.setSocketDir(sock)
	logFile := filepath.Join(c.dataDir, "postgres.log")
	// pg_ctl hands -o to a shell, hence the quoting.
	opts := "-k " + shellQuote(sock) + " -c listen_addresses='' -p " + port
	c.logf("starting PostgreSQL in %s (log: %s)", c.dataDir, logFile)
	err = c.as.run(ctx, c.pgCtl, "start", "-D", c.dataDir, "-w", "-t", "60", "-l", logFile, "-o", opts)
	if err != nil {
		return fmt.Errorf("start PostgreSQL in %s (see %s): %w", c.dataDir, logFile, err)
	}
	return nil
}

func (c *Cluster) setSocketDir(dir string) {
	c.sockDir = dir
	c.tempSockDir = filepath.Dir(dir) != c.dataDir
}

// running reports whether a server is up on dataDir and, if so, its socket directory, which the
// server records on the fifth line of postmaster.pid.
func (c *Cluster) running(ctx context.Context) (sockDir string, ok bool) {
	f, err := os.Open(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return "", false
	}
	defer f.Close()
	// pg_ctl status fails for a stale pid file left by a crash; the server is then started afresh.
	if c.as.run(ctx, c.pgCtl, "status", "-D", c.dataDir) != nil {
		return "", false
	}
	lines := bufio.NewScanner(f)
	for i := 1; lines.Scan(); i++ {
		if i == 5 {
			sockDir = strings.TrimSpace(lines.Text())
			break
		}
	}
	return sockDir, sockDir != ""
}

// makeSocketDir returns the directory for the server's socket: inside dataDir, or under the system
// temporary directory when that path would be too long for a unix socket.
func (c *Cluster) makeSocketDir() (string, error) {
	dir := filepath.Join(c.dataDir, "socket")
	if len(dir) <= maxSocketDir {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create socket directory: %w", err)
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "goalert-pg-"); err != nil {
			return "", fmt.Errorf("create socket directory: %w", err)
		}
	}
	return dir, c.as.own(dir)
}

// createDatabase waits for the server to accept connections and creates the goalert database.
func (c *Cluster) createDatabase(ctx context.Context) error {
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up database %s: %w", database, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+database)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", database, err)
	}
	return nil
}

// connect retries while the server finishes starting; a reused server may still be in recovery.
func (c *Cluster) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to PostgreSQL in %s: %w", c.dataDir, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// findBinaries returns initdb and pg_ctl from the same directory: the first of pathList that holds
// both, else the newest version under versionGlob.
func findBinaries(pathList, versionGlob string) (initdb, pgCtl string, err error) {
	dirs := filepath.SplitList(pathList)
	dirs = append(dirs, versionDirs(versionGlob)...)
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		initdb, pgCtl = filepath.Join(dir, "initdb"), filepath.Join(dir, "pg_ctl")
		if isExecutable(initdb) && isExecutable(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", ErrNoBinaries
}

// versionDirs returns the matches of a glob like /usr/lib/postgresql/*/bin, newest version first.
func versionDirs(glob string) []string {
	matches, _ := filepath.Glob(glob) // the pattern is constant; it cannot be malformed
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return matches
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// account is who runs the server's programs: the current user, or postgres when that is root.
type account struct {
	cred *syscall.Credential // nil: the current user
}

func serverAccount() (account, error) {
	if os.Geteuid() != 0 {
		return account{}, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return account{}, fmt.Errorf("PostgreSQL refuses to run as root and there is no %q system user to run it as: %w", superuser, err)
	}
	uid, uidErr := strconv.ParseUint(u.Uid, 10, 32)
	gid, gidErr := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(uidErr, gidErr); err != nil {
		return account{}, fmt.Errorf("read ids of system user %q: %w", superuser, err)
	}
	return account{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

// own hands path to the server's account, which must write to it.
func (a account) own(path string) error {
	if a.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(a.cred.Uid), int(a.cred.Gid)); err != nil {
		return fmt.Errorf("give %s to the %s user: %w", path, superuser, err)
	}
	return nil
}

// run runs a PostgreSQL program and returns its output in the error when it fails.
func (a account) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	// "/" because the server's account may not be able to enter the current directory. Its own
	// process group keeps a terminal's Ctrl-C away, so shutdown stays under our control.
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: a.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, msg)
		}
		return fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	return nil
}
