package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oncallhq/goalert/events"
)

// A rebuild builds the new read model on the side and swaps it in with one
// short transaction, so that readers of the live model see the old model,
// whole, until the swap commits, and the new one, whole and at least as far
// along the log, after it.
//
// The side is the schema rebuild_<projection>. It holds a copy of each
// table of the projection, made from the live table's catalog entry:
// CREATE TABLE ... (LIKE ... INCLUDING ALL) for the columns, defaults,
// identity columns, check constraints and indexes, then what LIKE leaves
// out: the indexes' (and so the primary and unique keys') live names, which
// later migrations refer to; the foreign keys, recreated so that those
// between the projection's tables point at the copies (the services read
// model relies on their ON DELETE CASCADE while it is built); the owner,
// the grants and the storage options. A projection that is not
// SelfIdempotent also gets an empty copy of projection_stream_versions.
//
// Rebuild batches run with the shadow schema first on their search_path,
// so the projection's SQL, which names its tables unqualified, writes into
// the copies. The shadow's checkpoint is kept in memory: a rebuild that
// fails or crashes is not resumed but dropped, by itself or by the next
// rebuild of the projection.
//
// The swap locks the live checkpoint row, as the live subscriber does for
// each of its batches, so the subscriber waits; applies to the copies the
// events the shadow has not read yet, up to what is readable now (at least
// as far as the live model, which the subscriber built under the same
// rule); hands the projection's stream versions and the checkpoint over;
// then drops the live tables and moves the copies into their schema, in
// the same transaction. Only that last step blocks readers, and it waits
// at most swapLockTimeout for a reader still holding a live table: then
// the swap is rolled back, the shadow catches up again, and the swap is
// retried, up to swapAttempts times. (The wait for the checkpoint row
// blocks no reader, and the subscriber holds it for one batch at most, so
// it is bounded by ctx alone.)
//
// A statement that waited for the swap plans and reads the new tables, with
// a snapshot taken after it: the server's readers, single statements at
// READ COMMITTED, see one model or the other, whole. A REPEATABLE READ
// transaction whose snapshot predates the swap would see the new tables
// without the rows written after its snapshot; nothing reads read models
// that way.
//
// Two rebuilds of one projection would share the shadow schema: a session
// advisory lock, held on a connection of the rebuild's own, refuses the
// second. It ends with that connection, so a crashed rebuild's schema is
// found, and dropped, by the next.
//
// The copies keep the foreign keys among them and their indexes' names
// when they move. A serial column's sequence belongs to the live table,
// and the copy's default draws from it as well: its ownership passes to
// the copy in the swap, so that dropping the live table leaves it. An
// identity column's sequence is the copy's own; the swap moves it past the
// live one's value, so that ids keep growing across rebuilds.
//
// Views, rules and triggers on the projection's tables, and foreign keys
// from other tables into them, would not survive the swap (or would stop
// it): a rebuild refuses to start while there are any.
const (
	shadowPrefix    = "rebuild_"
	swapLockTimeout = time.Second
	swapAttempts    = 30
)

// shadow is a rebuild's side copy of a projection's tables.
type shadow struct {
	projection string
	schema     string
	livePath   string // the sessions' search_path
	path       string // the shadow schema, then livePath
	tables     []shadowTable
	versions   string // the live projection_stream_versions, quoted; "" when the projection keeps none
	// conn is the rebuild's own connection, outside the pool: it holds the
	// session lock that keeps two rebuilds of a projection apart.
	conn    *pgx.Conn
	cp      events.Checkpoint // how far the copies have read
	swapped bool
}

// shadowTable is a live table of the projection and what its copy needs
// at the swap.
type shadowTable struct {
	oid        uint32
	schema     string
	name       string
	serials    []serialColumn
	identities []identitySequences
}

// serialColumn is a column whose default draws from a sequence the live
// table owns.
type serialColumn struct {
	column   string
	sequence string // quoted, schema-qualified
}

// identitySequences are the sequences of one identity column, the live
// table's and the copy's.
type identitySequences struct{ live, copy uint32 }

func (t shadowTable) live() string            { return pgx.Identifier{t.schema, t.name}.Sanitize() }
func (t shadowTable) in(schema string) string { return pgx.Identifier{schema, t.name}.Sanitize() }
func (sh *shadow) table(t shadowTable) string { return t.in(sh.schema) }
func (sh *shadow) quotedSchema() string       { return pgx.Identifier{sh.schema}.Sanitize() }
func (sh *shadow) versionsCopy() string {
	return pgx.Identifier{sh.schema, "projection_stream_versions"}.Sanitize()
}
func (sh *shadow) enter(ctx context.Context, tx pgx.Tx) error {
	return setLocal(ctx, tx, "search_path", sh.path)
}

func setLocal(ctx context.Context, tx pgx.Tx, name, value string) error {
	if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, name, value); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// openShadow takes the projection's rebuild lock and creates its shadow
// schema, dropping one a crashed rebuild left behind.
func (r *Runner) openShadow(ctx context.Context, p Projection) (*shadow, error) {
	pooled, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	sh := &shadow{projection: p.Name(), schema: shadowPrefix + p.Name(), conn: pooled.Hijack()}
	ok := false
	defer func() {
		if !ok {
			sh.conn.Close(context.WithoutCancel(ctx))
		}
	}()
	var locked bool
	if err := sh.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`,
		"goalert.rebuild."+p.Name()).Scan(&locked); err != nil {
		return nil, fmt.Errorf("take the rebuild lock: %w", err)
	}
	if !locked {
		return nil, fmt.Errorf("a rebuild of %s is running already", p.Name())
	}
	if err := pgx.BeginFunc(ctx, sh.conn, func(tx pgx.Tx) error { return sh.create(ctx, tx, p) }); err != nil {
		return nil, fmt.Errorf("create the shadow tables: %w", err)
	}
	ok = true
	return sh, nil
}

// close drops the shadow schema unless it was swapped in, and releases the
// rebuild lock.
func (sh *shadow) close(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if !sh.swapped && !sh.conn.IsClosed() {
		if _, err := sh.conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+sh.quotedSchema()+` CASCADE`); err != nil {
			log.Warn("could not drop the tables of an unfinished rebuild; the next rebuild drops them",
				"schema", sh.schema, "err", err)
		}
	}
	sh.conn.Close(ctx)
}

func (sh *shadow) create(ctx context.Context, tx pgx.Tx, p Projection) error {
	if err := tx.QueryRow(ctx, `SELECT current_setting('search_path')`).Scan(&sh.livePath); err != nil {
		return fmt.Errorf("read search_path: %w", err)
	}
	sh.path = sh.quotedSchema() + ", " + sh.livePath
	if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+sh.quotedSchema()+` CASCADE`); err != nil {
		return fmt.Errorf("drop a leftover rebuild: %w", err)
	}
	if len(p.Tables()) == 0 {
		return errors.New("the projection names no tables to rebuild")
	}
	var oids []uint32
	for _, name := range p.Tables() {
		t, err := liveTable(ctx, tx, name)
		if err != nil {
			return err
		}
		sh.tables = append(sh.tables, t)
		oids = append(oids, t.oid)
	}
	if err := refuseDependents(ctx, tx, oids); err != nil {
		return err
	}
	// Read before the shadow exists, with the live search_path: a foreign
	// key to another table of the projection then names it unqualified,
	// and the same text run with the shadow's search_path names the copy.
	fks, err := foreignKeys(ctx, tx, oids)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA `+sh.quotedSchema()); err != nil {
		return fmt.Errorf("create schema %s: %w", sh.schema, err)
	}
	for i := range sh.tables {
		if err := sh.copyTable(ctx, tx, &sh.tables[i]); err != nil {
			return fmt.Errorf("copy %s: %w", sh.tables[i].live(), err)
		}
	}
	if _, self := p.(SelfIdempotent); !self {
		v, err := liveTable(ctx, tx, "projection_stream_versions")
		if err != nil {
			return err
		}
		sh.versions = v.live()
		if _, err := tx.Exec(ctx, `CREATE TABLE `+sh.versionsCopy()+` (LIKE `+sh.versions+` INCLUDING ALL)`); err != nil {
			return fmt.Errorf("copy projection_stream_versions: %w", err)
		}
	}
	if err := sh.enter(ctx, tx); err != nil {
		return err
	}
	for _, fk := range fks {
		for _, t := range sh.tables {
			if t.oid != fk.table {
				continue
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE `+sh.table(t)+` ADD CONSTRAINT `+pgx.Identifier{fk.name}.Sanitize()+` `+fk.def); err != nil {
				return fmt.Errorf("copy foreign key %s of %s: %w", fk.name, t.live(), err)
			}
		}
	}
	return nil
}

// liveTable finds the table a projection's SQL means by name.
func liveTable(ctx context.Context, tx pgx.Tx, name string) (shadowTable, error) {
	t := shadowTable{}
	var kind string
	err := tx.QueryRow(ctx, `SELECT c.oid, n.nspname, c.relname, c.relkind::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass(quote_ident($1))`, name).Scan(&t.oid, &t.schema, &t.name, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("table %s not found", name)
	}
	if err != nil {
		return t, fmt.Errorf("look up table %s: %w", name, err)
	}
	if kind != "r" {
		return t, fmt.Errorf("%s is not a plain table (relkind %s); a rebuild cannot copy it", name, kind)
	}
	return t, nil
}

// refuseDependents fails when something outside the projection's tables
// depends on them, or they carry triggers: none of it would follow the
// rebuilt tables.
func refuseDependents(ctx context.Context, tx pgx.Tx, oids []uint32) error {
	rows, err := tx.Query(ctx, `
		SELECT format('foreign key %I of table %s', conname, conrelid::regclass) FROM pg_constraint
		WHERE contype = 'f' AND confrelid = ANY($1::oid[]) AND NOT conrelid = ANY($1::oid[])
		UNION ALL
		SELECT DISTINCT format('view or rule %s', r.ev_class::regclass)
		FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
		WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
		  AND d.refobjid = ANY($1::oid[])
		UNION ALL
		SELECT format('trigger %I on table %s', tgname, tgrelid::regclass) FROM pg_trigger
		WHERE tgrelid = ANY($1::oid[]) AND NOT tgisinternal`, oids)
	if err != nil {
		return fmt.Errorf("look for dependents: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("look for dependents: %w", err)
	}
	if len(found) > 0 {
		return fmt.Errorf("the read model's tables have dependents a rebuild cannot carry over: %s", strings.Join(found, "; "))
	}
	return nil
}

type foreignKey struct {
	table     uint32
	name, def string
}

func foreignKeys(ctx context.Context, tx pgx.Tx, oids []uint32) ([]foreignKey, error) {
	rows, err := tx.Query(ctx, `SELECT conrelid, conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE contype = 'f' AND conrelid = ANY($1::oid[]) ORDER BY conrelid, conname`, oids)
	if err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	fks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (foreignKey, error) {
		var fk foreignKey
		return fk, row.Scan(&fk.table, &fk.name, &fk.def)
	})
	if err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	return fks, nil
}

// copyTable creates t's copy in the shadow schema.
func (sh *shadow) copyTable(ctx context.Context, tx pgx.Tx, t *shadowTable) error {
	copyName := sh.table(*t)
	if _, err := tx.Exec(ctx, `CREATE TABLE `+copyName+` (LIKE `+t.live()+` INCLUDING ALL)`); err != nil {
		return err
	}
	var owner, me string
	var options, grants []string
	err := tx.QueryRow(ctx, `
		SELECT pg_get_userbyid(c.relowner), current_user, coalesce(c.reloptions, '{}'),
		       coalesce((SELECT array_agg(format('GRANT %s ON %s TO %s%s', a.privilege_type, $2::text,
		                     CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
		                     CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
		                 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner), '{}')
		FROM pg_class c WHERE c.oid = $1`, t.oid, copyName).Scan(&owner, &me, &options, &grants)
	if err != nil {
		return fmt.Errorf("read owner and grants: %w", err)
	}
	if owner != me {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+copyName+` OWNER TO `+pgx.Identifier{owner}.Sanitize()); err != nil {
			return fmt.Errorf("give the copy to %s: %w", owner, err)
		}
	}
	for _, g := range grants {
		if _, err := tx.Exec(ctx, g); err != nil {
			return fmt.Errorf("copy grant: %w", err)
		}
	}
	if len(options) > 0 {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+copyName+` SET (`+strings.Join(options, ", ")+`)`); err != nil {
			return fmt.Errorf("copy storage options: %w", err)
		}
	}
	if err := sh.nameIndexes(ctx, tx, *t); err != nil {
		return err
	}
	return sh.matchSequences(ctx, tx, t)
}

// nameIndexes gives the copy's indexes (and so its primary and unique
// keys) the live indexes' names: LIKE names them after their columns.
// Indexes are matched by kind and definition.
func (sh *shadow) nameIndexes(ctx context.Context, tx pgx.Tx, t shadowTable) error {
	type index struct{ name, key string }
	read := func(table string) ([]index, error) {
		rows, err := tx.Query(ctx, `
			SELECT c.relname, format('%s %s %s %s', i.indisprimary, i.indisunique, i.indisexclusion,
			       substr(d.def, strpos(d.def, ' USING ')))
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid,
			     LATERAL (SELECT pg_get_indexdef(i.indexrelid) AS def) d
			WHERE i.indrelid = $1::regclass ORDER BY i.indexrelid`, table)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(row pgx.CollectableRow) (index, error) {
			var x index
			return x, row.Scan(&x.name, &x.key)
		})
	}
	live, err := read(t.live())
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	copies, err := read(sh.table(t))
	if err != nil {
		return fmt.Errorf("read indexes of the copy: %w", err)
	}
	if len(copies) != len(live) {
		return fmt.Errorf("the copy has %d indexes, the live table %d", len(copies), len(live))
	}
	names := map[string][]string{}
	for _, x := range live {
		names[x.key] = append(names[x.key], x.name)
	}
	type rename struct{ from, to string }
	var renames []rename
	for _, x := range copies {
		want := names[x.key]
		if len(want) == 0 {
			return fmt.Errorf("index %s of the copy matches no index of the live table", x.name)
		}
		names[x.key] = want[1:]
		if x.name != want[0] {
			renames = append(renames, rename{x.name, want[0]})
		}
	}
	// Through temporary names: a copy's name may be another's target.
	for i, rn := range renames {
		tmp := fmt.Sprintf("rebuild_index_%d", i)
		if _, err := tx.Exec(ctx, `ALTER INDEX `+pgx.Identifier{sh.schema, rn.from}.Sanitize()+` RENAME TO `+pgx.Identifier{tmp}.Sanitize()); err != nil {
			return fmt.Errorf("rename index %s: %w", rn.from, err)
		}
	}
	for i, rn := range renames {
		tmp := fmt.Sprintf("rebuild_index_%d", i)
		if _, err := tx.Exec(ctx, `ALTER INDEX `+pgx.Identifier{sh.schema, tmp}.Sanitize()+` RENAME TO `+pgx.Identifier{rn.to}.Sanitize()); err != nil {
			return fmt.Errorf("rename index %s to %s: %w", rn.from, rn.to, err)
		}
	}
	return nil
}

// matchSequences records the sequences of t's serial and identity
// columns, and names the copy's identity sequences as the live ones.
func (sh *shadow) matchSequences(ctx context.Context, tx pgx.Tx, t *shadowTable) error {
	type sequence struct {
		column   string
		identity bool
		oid      uint32
		name     string // unqualified
		quoted   string // schema-qualified
	}
	read := func(table string) (map[string]sequence, error) {
		rows, err := tx.Query(ctx, `
			SELECT a.attname, a.attidentity <> '', s.oid, s.relname,
			       quote_ident(sn.nspname) || '.' || quote_ident(s.relname)
			FROM pg_attribute a
			CROSS JOIN LATERAL (SELECT to_regclass(pg_get_serial_sequence($1::text, a.attname)) AS seq) q
			JOIN pg_class s ON s.oid = q.seq JOIN pg_namespace sn ON sn.oid = s.relnamespace
			WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped`, table)
		if err != nil {
			return nil, err
		}
		seqs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sequence, error) {
			var s sequence
			return s, row.Scan(&s.column, &s.identity, &s.oid, &s.name, &s.quoted)
		})
		out := map[string]sequence{}
		for _, s := range seqs {
			out[s.column] = s
		}
		return out, err
	}
	live, err := read(t.live())
	if err != nil {
		return fmt.Errorf("read sequences: %w", err)
	}
	copies, err := read(sh.table(*t))
	if err != nil {
		return fmt.Errorf("read sequences of the copy: %w", err)
	}
	for col, s := range live {
		if !s.identity {
			t.serials = append(t.serials, serialColumn{column: col, sequence: s.quoted})
			continue
		}
		c, ok := copies[col]
		if !ok {
			return fmt.Errorf("identity column %s has no sequence in the copy", col)
		}
		if c.name != s.name {
			if _, err := tx.Exec(ctx, `ALTER SEQUENCE `+pgx.Identifier{sh.schema, c.name}.Sanitize()+` RENAME TO `+pgx.Identifier{s.name}.Sanitize()); err != nil {
				return fmt.Errorf("rename the sequence of %s: %w", col, err)
			}
		}
		t.identities = append(t.identities, identitySequences{live: s.oid, copy: c.oid})
	}
	return nil
}

// errShadowBehind means the live model had read further than the log
// readable at the swap; it cannot happen while readers stop below the
// snapshot's xmin, and the swap is retried rather than moving the model
// back.
var errShadowBehind = errors.New("the rebuilt read model is behind the live one")

// swapIn brings the copies up to the log readable now and puts them in the
// live tables' place, in one transaction. It returns the events applied
// and the checkpoint of the swapped-in model.
func (r *Runner) swapIn(ctx context.Context, sh *shadow, p Projection, handles map[string]bool, size int) (applied int, cp events.Checkpoint, err error) {
	cp = sh.cp
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := sh.enter(ctx, tx); err != nil {
			return err
		}
		// The live subscriber takes this lock for each batch: it finishes
		// the batch it is in, then waits for the swap.
		live, err := lockCheckpoint(ctx, tx, sh.projection)
		if err != nil {
			return err
		}
		for {
			envs, next, err := r.store.ReadNamedAfter(ctx, tx, cp, p.Handles(), size)
			if err != nil {
				return err
			}
			if !next.After(cp) {
				break
			}
			n, err := r.applyBatch(ctx, tx, p, handles, envs)
			if err != nil {
				return err
			}
			applied += n
			cp = next
			if len(envs) < size {
				break
			}
		}
		if live.After(cp) {
			return errShadowBehind
		}
		if err := setLocal(ctx, tx, "search_path", sh.livePath); err != nil {
			return err
		}
		if sh.versions != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM `+sh.versions+` WHERE projection = $1`, sh.projection); err != nil {
				return fmt.Errorf("drop the live stream versions: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+sh.versions+` (projection, stream_id, version)
				SELECT projection, stream_id, version FROM `+sh.versionsCopy()); err != nil {
				return fmt.Errorf("hand over the stream versions: %w", err)
			}
		}
		if err := saveCheckpoint(ctx, tx, sh.projection, cp); err != nil {
			return err
		}
		return sh.replaceTables(ctx, tx)
	})
	return applied, cp, err
}

// replaceTables drops the live tables and moves the copies in. Readers wait
// from its first lock to the commit; a reader that holds a live table for
// longer than swapLockTimeout fails the swap instead.
func (sh *shadow) replaceTables(ctx context.Context, tx pgx.Tx) error {
	if err := setLocal(ctx, tx, "lock_timeout", fmt.Sprintf("%dms", swapLockTimeout.Milliseconds())); err != nil {
		return err
	}
	live := make([]string, len(sh.tables))
	for i, t := range sh.tables {
		live[i] = t.live()
	}
	list := strings.Join(live, ", ")
	if _, err := tx.Exec(ctx, `LOCK TABLE `+list+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock the live tables: %w", err)
	}
	for _, t := range sh.tables {
		for _, id := range t.identities {
			if _, err := tx.Exec(ctx, `SELECT setval($2::oid::regclass, pg_sequence_last_value($1::oid::regclass))
				WHERE pg_sequence_last_value($1::oid::regclass) > coalesce(pg_sequence_last_value($2::oid::regclass), 0)`,
				id.live, id.copy); err != nil {
				return fmt.Errorf("carry the identity sequence of %s over: %w", t.live(), err)
			}
		}
		for _, s := range t.serials {
			if _, err := tx.Exec(ctx, `ALTER SEQUENCE `+s.sequence+` OWNED BY NONE`); err != nil {
				return fmt.Errorf("keep sequence %s: %w", s.sequence, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `DROP TABLE `+list); err != nil {
		return fmt.Errorf("drop the live tables: %w", err)
	}
	for _, t := range sh.tables {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+sh.table(t)+` SET SCHEMA `+pgx.Identifier{t.schema}.Sanitize()); err != nil {
			return fmt.Errorf("move the rebuilt %s in: %w", t.name, err)
		}
		for _, s := range t.serials {
			if _, err := tx.Exec(ctx, `ALTER SEQUENCE `+s.sequence+` OWNED BY `+pgx.Identifier{t.schema, t.name, s.column}.Sanitize()); err != nil {
				return fmt.Errorf("give sequence %s to the rebuilt %s: %w", s.sequence, t.name, err)
			}
		}
	}
	if _, err := tx.Exec(ctx, `DROP SCHEMA `+sh.quotedSchema()+` CASCADE`); err != nil {
		return fmt.Errorf("drop schema %s: %w", sh.schema, err)
	}
	return nil
}

// analyze gathers the copies' statistics before they go live, so that the
// first queries on them are planned on their contents.
func (r *Runner) analyze(ctx context.Context, sh *shadow) error {
	names := make([]string, len(sh.tables))
	for i, t := range sh.tables {
		names[i] = sh.table(t)
	}
	if _, err := r.pool.Exec(ctx, `ANALYZE `+strings.Join(names, ", ")); err != nil {
		return fmt.Errorf("analyze the rebuilt tables: %w", err)
	}
	return nil
}

// retrySwap says whether a failed swap may succeed later: a reader held a
// live table too long, a deadlock with one, or the model moved meanwhile.
func retrySwap(err error) bool {
	if errors.Is(err, errShadowBehind) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01" || pgErr.Code == "40001")
}
