package image

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

var testCacheKey = []byte("secgate test cache key, 32 bytes")

func cacheHits(res policy.ScanResult) int {
	n := 0
	for _, note := range res.Notes {
		if strings.HasPrefix(note, "cache: the checks of ") {
			n++
		}
	}
	return n
}

func withoutCacheNotes(res policy.ScanResult) policy.ScanResult {
	res.Notes = slices.DeleteFunc(slices.Clone(res.Notes), func(n string) bool { return strings.HasPrefix(n, "cache: ") })
	res.Redactor = nil
	return res
}

// An unchanged image is served from the cache as checked; the day its OS
// reaches its end of life, a tier change, or an image with a secret is
// checked again.
func TestCacheImageChecks(t *testing.T) {
	debian10 := build(t, func(c *v1.Config) { c.User = "10001" },
		layer(t, file("etc/os-release", "ID=debian\nVERSION_ID=\"10\"\n"), entry{name: "bin/sh", typ: tar.TypeSymlink, linkname: "dash", mode: 0o777}),
		layer(t, file("app/server", "\x7fELF\x00\x00binary")))
	ref := archive(t, debian10)
	store, err := cache.Open(t.TempDir(), 0, testCacheKey)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Refs: []string{ref}, Cache: store, CacheVersion: "test", Now: time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC), Secrets: textScanner(t)}
	scan := func(o Options) policy.ScanResult {
		t.Helper()
		res, err := New(o).Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	cold := scan(o)
	if cacheHits(cold) != 0 || checks(cold.Findings)[CheckShell].ID == "" || checks(cold.Findings)[CheckOSEOL].ID != "" {
		t.Fatalf("cold: %s", fmtFindings(cold))
	}
	warm := scan(o)
	if cacheHits(warm) != 1 || !reflect.DeepEqual(withoutCacheNotes(warm), withoutCacheNotes(cold)) {
		t.Errorf("warm: %d hits\ncold %+v\nwarm %+v", cacheHits(warm), cold, warm)
	}

	// The next day Debian 10 is past its end of life.
	o.Now = o.Now.Add(24 * time.Hour)
	if res := scan(o); cacheHits(res) != 0 || checks(res.Findings)[CheckOSEOL].ID == "" {
		t.Errorf("after the end of life: %d hits, %s", cacheHits(res), fmtFindings(res))
	}
	// The policy's tiers are in the findings: a change is a new entry.
	o.Tiers = map[string]policy.Severity{CheckShell: policy.Medium}
	scan(o)
	o.Tiers = map[string]policy.Severity{CheckShell: policy.High}
	if res := scan(o); cacheHits(res) != 0 || checks(res.Findings)[CheckShell].Severity != policy.High {
		t.Errorf("after a tier change: %d hits, %s", cacheHits(res), fmtFindings(res))
	}

	// An image with secrets: found (and redacted) every run, never kept.
	img, toks := vulnerable(t)
	o.Refs = []string{archive(t, img)}
	for run := range 2 {
		res := scan(o)
		if cacheHits(res) != 0 || res.Redactor == nil || strings.Contains(res.Redactor.Redact(strings.Join(toks, " ")), toks[0]) {
			t.Errorf("run %d of an image with secrets: %d hits", run, cacheHits(res))
		}
	}
}

// An OCI layout's blobs are read by name, unverified: a layer rewritten in
// place is not served the cached result of what it held before.
func TestCacheLayoutLayerRewritten(t *testing.T) {
	clean := distroless(t)
	dir := t.TempDir()
	if _, err := layout.Write(dir, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: clean})); err != nil {
		t.Fatal(err)
	}
	store, _ := cache.Open(t.TempDir(), 0, testCacheKey)
	o := Options{Refs: []string{"oci-layout:" + dir}, Cache: store, CacheVersion: "test"}
	for run := range 2 {
		res, err := New(o).Scan(context.Background())
		if err != nil || cacheHits(res) != run || len(res.Findings) != 0 {
			t.Fatalf("run %d: %v, %d hits, %s", run, err, cacheHits(res), fmtFindings(res))
		}
	}
	ref := "oci-layout:" + dir
	before, err := Digest(context.Background(), ref, Options{})
	if err != nil || !strings.Contains(before, "sha256:") {
		t.Fatalf("Digest: %q %v", before, err)
	}
	// The second layer's blob now holds a shell.
	layers, _ := clean.Layers()
	h, _ := layers[1].Digest()
	shell := layer(t, entry{name: "bin/sh", typ: tar.TypeSymlink, linkname: "busybox", mode: 0o777}, file("bin/busybox", "\x7fELF\x00bb"))
	rc, _ := shell.Compressed()
	data, _ := io.ReadAll(rc)
	if err := os.WriteFile(filepath.Join(dir, "blobs", h.Algorithm, h.Hex), data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := New(o).Scan(context.Background())
	if err == nil && cacheHits(res) != 0 {
		t.Errorf("a rewritten layer was served the cached result: %s", fmtFindings(res))
	}
	// The package scan's cache names the image by Digest: not this one.
	if after, err := Digest(context.Background(), ref, Options{}); err == nil {
		t.Errorf("Digest of a layout whose layer was rewritten: %q (before %q)", after, before)
	}
}
