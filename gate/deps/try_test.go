package deps

import (
	"context"
	"fmt"
	"os"
	"testing"
)

func TestTry(t *testing.T) {
	res, err := New(Options{Root: os.Getenv("TRY_DIR"), OfflineDB: "/work/shared/osv/db"}).Scan(context.Background())
	fmt.Println("err:", err)
	for _, f := range res.Findings {
		s := -1.0
		if f.Score != nil {
			s = *f.Score
		}
		fmt.Printf("%s %v | %s %s@%s | %.1f %q %v | %s\n", f.ID, f.Aliases, f.Location.Path, f.Location.Package, f.Location.Version, s, f.ScoreSource, f.Severity, f.Fix)
	}
	fmt.Println(res.Notes)
}
