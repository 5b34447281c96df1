package image

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRealRegistry proves the registry path against a registry that is not
// go-containerregistry's own: .ci/run starts Debian's docker-registry
// (distribution 2.8) on loopback and sets SECGATE_TEST_REGISTRY.
func TestRealRegistry(t *testing.T) {
	host := os.Getenv("SECGATE_TEST_REGISTRY")
	switch {
	case host == "" && os.Getenv("CI") != "":
		// In CI the real registry is part of the test suite: its absence
		// is a broken CI, not a reason to pass.
		t.Fatal("CI is set but SECGATE_TEST_REGISTRY is not: .ci/run must start Debian's docker-registry for this test")
	case host == "":
		t.Skip("SECGATE_TEST_REGISTRY is not set: .ci/run starts Debian's docker-registry for this test")
	}
	bad, _ := vulnerable(t)
	clean := distroless(t)
	ref, err := name.ParseReference(host + "/secgate-test/bad:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, bad); err != nil {
		t.Fatalf("pushing to %s: %v", host, err)
	}
	idxRef, err := name.ParseReference(host + "/secgate-test/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: clean, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: bad, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	if err := remote.WriteIndex(idxRef, idx); err != nil {
		t.Fatal(err)
	}
	d, err := bad.Digest()
	if err != nil {
		t.Fatal(err)
	}

	res, err := New(Options{Refs: []string{ref.String(), idxRef.String()}}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]bool{}
	for _, f := range res.Findings {
		if f.Rule == CheckRoot {
			roots[f.Location.Image] = true
		}
	}
	if !roots[host+"/secgate-test/bad@"+d.String()] || !roots[host+"/secgate-test/multi@"+d.String()+" (linux/arm64)"] || len(roots) != 2 {
		t.Errorf("root findings at %v: want the tag's digest and the index's arm64 image", roots)
	}
	if _, ok := checks(res.Findings)[CheckShell]; !ok {
		t.Error("the layer checks did not run against the real registry")
	}

	_, err = New(Options{Refs: []string{host + "/secgate-test/missing:1"}}).Scan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "secgate-test/missing:1") {
		t.Errorf("a missing tag: %v", err)
	}
}
