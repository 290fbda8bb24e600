// Package sqlitedriver compares the maintained pure-Go SQLite drivers on the
// statements latch's hot and write paths run. It is a separate module so the
// losing driver never enters latch's own go.mod. Reproduce with:
//
//	cd bench/sqlitedriver && go test -bench . -count 6 | tee out.txt && benchstat -col /driver out.txt
package sqlitedriver

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/embed"
	_ "modernc.org/sqlite"
)

const schema = `CREATE TABLE IF NOT EXISTS sessions (
	id TEXT PRIMARY KEY, user_id TEXT NOT NULL, generation INTEGER NOT NULL,
	refresh_hash BLOB NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
	revoked_at INTEGER, user_agent TEXT NOT NULL) STRICT`

var drivers = []struct{ name, driver, dsn string }{
	{"modernc", "sqlite", "file:%s?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_txlock=immediate"},
	{"ncruces", "sqlite3", "file:%s?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_txlock=immediate"},
}

func open(b *testing.B, driver, dsn string) *sql.DB {
	db, err := sql.Open(driver, fmt.Sprintf(dsn, filepath.Join(b.TempDir(), "bench.db")))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	return db
}

func seed(b *testing.B, db *sql.DB, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = rand.Text()
		if _, err := db.Exec(`INSERT INTO sessions VALUES (?, 'u', 0, ?, 1, 2, NULL, 'Mozilla/5.0')`, ids[i], make([]byte, 32)); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func Benchmark(b *testing.B) {
	for _, d := range drivers {
		b.Run("driver="+d.name+"/op=read", func(b *testing.B) {
			db := open(b, d.driver, d.dsn)
			ids := seed(b, db, 1000)
			stmt, err := db.Prepare(`SELECT user_id, generation, refresh_hash, expires_at, revoked_at, user_agent FROM sessions WHERE id = ?`)
			if err != nil {
				b.Fatal(err)
			}
			var (
				uid, ua string
				gen     int64
				h       []byte
				exp     int64
				rev     sql.NullInt64
			)
			i := 0
			for b.Loop() {
				if err := stmt.QueryRow(ids[i%len(ids)]).Scan(&uid, &gen, &h, &exp, &rev, &ua); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("driver="+d.name+"/op=read-parallel", func(b *testing.B) {
			db := open(b, d.driver, d.dsn)
			ids := seed(b, db, 1000)
			b.RunParallel(func(pb *testing.PB) {
				var gen int64
				i := 0
				for pb.Next() {
					if err := db.QueryRow(`SELECT generation FROM sessions WHERE id = ?`, ids[i%len(ids)]).Scan(&gen); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
		b.Run("driver="+d.name+"/op=cas-update", func(b *testing.B) {
			db := open(b, d.driver, d.dsn)
			ids := seed(b, db, 1)
			gen := 0
			for b.Loop() {
				res, err := db.Exec(`UPDATE sessions SET generation = ?, refresh_hash = ? WHERE id = ? AND generation = ? AND revoked_at IS NULL`, gen+1, make([]byte, 32), ids[0], gen)
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					b.Fatal("lost CAS")
				}
				gen++
			}
		})
		b.Run("driver="+d.name+"/op=insert", func(b *testing.B) {
			db := open(b, d.driver, d.dsn)
			for b.Loop() {
				if _, err := db.Exec(`INSERT INTO sessions VALUES (?, 'u', 0, ?, 1, 2, NULL, 'Mozilla/5.0')`, rand.Text(), make([]byte, 32)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
