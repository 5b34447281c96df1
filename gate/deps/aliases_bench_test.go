package deps

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOfflineAliasLookup measures one scan's alias lookups (10 ids)
// in an offline ecosystem zip the size of a real export's (50,000 records
// of ~2 KB): only the zip's directory and the ten entries are read.
func BenchmarkOfflineAliasLookup(b *testing.B) {
	db := b.TempDir()
	path := filepath.Join(db, "osv-scalibr", "npm", "all.zip")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	pad := make([]byte, 2000)
	for i := range pad {
		pad[i] = 'x'
	}
	for i := range 50000 {
		w, err := zw.Create(fmt.Sprintf("GHSA-%06d.json", i))
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(w, `{"id":"GHSA-%06d","details":"%s","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`, i, pad)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	res := vulnResults{Results: []packageSource{{Packages: []packageVulns{{Package: packageInfo{Ecosystem: "npm"}}}}}}
	s := New(Options{OfflineDB: db})
	b.ResetTimer()
	for range b.N {
		lookup, done := s.aliasLookup(s.opts, res)
		for i := range 10 {
			a, err := lookup(context.Background(), fmt.Sprintf("GHSA-%06d", i*4999))
			if err != nil || a == nil || len(a.vectors) != 1 {
				b.Fatalf("lookup %d: %+v %v", i, a, err)
			}
		}
		done()
	}
}
