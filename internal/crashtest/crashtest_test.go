package crashtest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRunAppender runs the harness on a program without deduplication:
// every unit is answered, so its line is there (0 lost), every kill
// happened, and the redeliveries show up as extra lines.
func TestRunAppender(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a program")
	}
	out := filepath.Join(t.TempDir(), "out")
	const units, kills = 300, 5
	Run(t, Config{
		Binary: Build(t, "./testdata/appender"), Args: []string{"-out", out},
		Units: units, Kills: kills, Senders: 4, Redeliver: 0.1, Seed: 42,
		Request: func(base string, unit int) (*http.Request, error) {
			return http.NewRequest(http.MethodPost, base+"/?unit="+strconv.Itoa(unit), nil)
		},
	}, func(rep Report) error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		counts := map[int]int{}
		for _, line := range strings.Fields(string(b)) {
			u, err := strconv.Atoi(line)
			if err != nil {
				return err
			}
			counts[u]++
		}
		lost, dups, unknown := Counts(units, counts)
		if len(lost) > 0 || len(unknown) > 0 || rep.Kills != kills {
			return fmt.Errorf("lost %v, unknown %v, %d kills", lost, unknown, rep.Kills)
		}
		if int64(dups) < rep.Redelivered {
			return fmt.Errorf("%d duplicates, fewer than the %d units resent on purpose", dups, rep.Redelivered)
		}
		return nil
	})
}

func TestCounts(t *testing.T) {
	lost, dups, unknown := Counts(4, map[int]int{1: 1, 2: 3, 4: 1, 9: 1})
	if fmt.Sprint(lost) != "[3]" || dups != 2 || fmt.Sprint(unknown) != "[9]" {
		t.Fatalf("Counts = %v, %d, %v", lost, dups, unknown)
	}
}
