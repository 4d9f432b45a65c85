package sqlmigrate

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestLoadRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":   {"migrations/a/init.sql": {Data: []byte("x")}},
		"not sql":     {"migrations/a/0001_init.txt": {Data: []byte("x")}},
		"zero":        {"migrations/a/0000_init.sql": {Data: []byte("x")}},
		"same number": {"migrations/a/0001_x.sql": {Data: []byte("x")}, "migrations/a/01_y.sql": {Data: []byte("y")}},
		"no dir":      {"other/a/0001_x.sql": {Data: []byte("x")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(fsys)
			require.Error(t, err)
		})
	}
}

func TestLoadOrders(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"migrations/b/0002_two.sql": {Data: []byte("2")},
		"migrations/b/0010_ten.sql": {Data: []byte("10")},
		"migrations/a/0001_one.sql": {Data: []byte("1")},
		"migrations/README":         {Data: []byte("not a component")},
	})
	require.NoError(t, err)
	var got []string
	for _, m := range ms {
		got = append(got, m.Component+"/"+m.Name+"="+m.SQL)
	}
	require.Equal(t, []string{"a/0001_one.sql=1", "b/0002_two.sql=2", "b/0010_ten.sql=10"}, got)
}

func TestNewer(t *testing.T) {
	ms := []Migration{{Component: "ledger", Version: 1}, {Component: "ledger", Version: 2}, {Component: "updates", Version: 1}}
	for name, tc := range map[string]struct {
		recorded map[string]int
		want     string
	}{
		"fresh":           {nil, ""},
		"same":            {map[string]int{"ledger": 2, "updates": 1}, ""},
		"older":           {map[string]int{"ledger": 1}, ""},
		"newer ledger":    {map[string]int{"ledger": 3, "updates": 1}, "ledger"},
		"two newer":       {map[string]int{"updates": 5, "ledger": 9}, "ledger"},
		"unknown feature": {map[string]int{"shop": 7}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, Newer(ms, tc.recorded))
		})
	}
}
