package devcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// dataDir returns a fresh data directory path whose parents the postgres user can traverse when the
// test runs as root (t.TempDir makes private directories).
func dataDir(t *testing.T, name string) string {
	t.Helper()
	tmp := t.TempDir()
	for _, dir := range []string{tmp, filepath.Dir(tmp)} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, name)
}

func start(t *testing.T, dir string) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), dir, t.Logf)
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func mustExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestStart_keepsDataAcrossRestarts(t *testing.T) {
	dir := dataDir(t, "pg")

	c := start(t, dir)
	mustExec(t, c.URL(), "SELECT 1")
	mustExec(t, c.URL(), "CREATE TABLE marker (id int); INSERT INTO marker VALUES (42)")
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Stop, postmaster.pid: got err %v, want not exist", err)
	}

	c = start(t, dir)
	mustExec(t, c.URL(), "DO $$ BEGIN IF (SELECT id FROM marker) <> 42 THEN RAISE 'marker lost'; END IF; END $$")
}

func TestStart_reusesRunningServer(t *testing.T) {
	dir := dataDir(t, "pg")
	first := start(t, dir)
	pid, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}

	second := start(t, dir)
	if got, want := second.URL(), first.URL(); got != want {
		t.Errorf("URL of reused server: got %s, want %s", got, want)
	}
	again, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Fields(string(again))[0] != strings.Fields(string(pid))[0] {
		t.Errorf("server pid changed: got a new server, want the running one reused")
	}
	mustExec(t, second.URL(), "SELECT 1")
}

func TestStart_longPathUsesTempSocketDir(t *testing.T) {
	dir := dataDir(t, strings.Repeat("d", 120))
	c := start(t, dir)
	mustExec(t, c.URL(), "SELECT 1")
	if !c.tempSockDir || strings.HasPrefix(c.sockDir, dir) {
		t.Fatalf("socket dir %s for data dir of %d chars: want one outside it", c.sockDir, len(dir))
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(c.sockDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary socket dir after Stop: got err %v, want it removed", err)
	}
}

func TestFindBinaries(t *testing.T) {
	root := t.TempDir()
	mkbin := func(dir string, names ...string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	versioned := filepath.Join(root, "lib", "*", "bin")
	mkbin(filepath.Join(root, "lib", "9.6", "bin"), "initdb", "pg_ctl")
	newest := mkbin(filepath.Join(root, "lib", "15", "bin"), "initdb", "pg_ctl")
	mkbin(filepath.Join(root, "lib", "13", "bin"), "initdb", "pg_ctl")
	onlyCtl := mkbin(filepath.Join(root, "onlyctl"), "pg_ctl")
	onPath := mkbin(filepath.Join(root, "path"), "initdb", "pg_ctl")

	tests := []struct {
		name, path, glob, want string
	}{
		{"PATH first", onlyCtl + string(os.PathListSeparator) + onPath, versioned, onPath},
		{"newest version", onlyCtl, versioned, newest},
	}
	for _, tt := range tests {
		initdb, pgCtl, err := findBinaries(tt.path, tt.glob)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if initdb != filepath.Join(tt.want, "initdb") || pgCtl != filepath.Join(tt.want, "pg_ctl") {
			t.Errorf("%s: got %s and %s, want both in %s", tt.name, initdb, pgCtl, tt.want)
		}
	}

	_, _, err := findBinaries(onlyCtl, filepath.Join(root, "none", "*", "bin"))
	if !errors.Is(err, ErrNoBinaries) {
		t.Errorf("no binaries: got %v, want ErrNoBinaries", err)
	}
}
