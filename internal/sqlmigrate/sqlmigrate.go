// Package sqlmigrate reads the embedded SQL migrations of the engine
// modules (store/sqlite, store/postgres): one directory per feature
// (ledger, updates, queue, ...) under migrations/, each holding files
// NNNN_name.sql applied in order of NNNN. Features never share a version
// sequence, so each adds its own files without colliding with the others.
// Applying them is each engine's own business (its locking and version
// table differ); reading and checking them is the same for both.
package sqlmigrate

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one file of one feature.
type Migration struct {
	Component string // the feature's directory, e.g. "ledger"
	Version   int    // NNNN, from 1, unique within the component
	Name      string // the file name
	SQL       string
}

// Load reads every feature's migrations under fsys's "migrations"
// directory: components in directory order, each one's files in version
// order. A file not named NNNN_name.sql, or two files of one component
// with one version, is an error.
func Load(fsys fs.FS) ([]Migration, error) {
	comps, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var all []Migration
	for _, c := range comps {
		if !c.IsDir() {
			continue
		}
		files, err := fs.ReadDir(fsys, path.Join("migrations", c.Name()))
		if err != nil {
			return nil, err
		}
		var ms []Migration
		for _, f := range files {
			num, _, ok := strings.Cut(f.Name(), "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v < 1 || !strings.HasSuffix(f.Name(), ".sql") {
				return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", c.Name(), f.Name())
			}
			b, err := fs.ReadFile(fsys, path.Join("migrations", c.Name(), f.Name()))
			if err != nil {
				return nil, err
			}
			ms = append(ms, Migration{Component: c.Name(), Version: v, Name: f.Name(), SQL: string(b)})
		}
		slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
		for i := 1; i < len(ms); i++ {
			if ms[i].Version == ms[i-1].Version {
				return nil, fmt.Errorf("migration %s: version %d twice", c.Name(), ms[i].Version)
			}
		}
		all = append(all, ms...)
	}
	return all, nil
}

// Newer returns the first component (in name order) that recorded, the
// highest version applied per component as a database records it, holds
// at a version above the highest of ms: the database was migrated by a
// newer release, whose tables this code would misread. It returns "" when
// there is none. A component ms does not know (a newer release's new
// feature) is not newer: this code never touches its tables.
func Newer(ms []Migration, recorded map[string]int) string {
	known := make(map[string]int)
	for _, m := range ms {
		known[m.Component] = max(known[m.Component], m.Version)
	}
	var newer []string
	for c, v := range recorded {
		if k, ok := known[c]; ok && v > k {
			newer = append(newer, c)
		}
	}
	if len(newer) == 0 {
		return ""
	}
	slices.Sort(newer)
	return newer[0]
}
