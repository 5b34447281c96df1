package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/secgate/secgate/gate/secrets/secretstest"
	"github.com/secgate/secgate/internal/cache"
)

// With --cache-dir the outgoing redaction keeps, between runs, the texts
// its detector found nothing in, and reads them no more; a text with a
// match is read every run, so its value is redacted every run. A set
// written under another key is ignored with a warning, another build's
// is not read.
func TestOutgoingCleanTextsKept(t *testing.T) {
	key := []byte("secgate test cache key, 32 bytes")
	dir := t.TempDir()
	store, err := cache.Open(dir, 0, key)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	token := secretstest.GitHubPAT(t)
	clean := "3 workload(s) and 2 Compose service(s) checked\n"
	dirty := "error: push refused for token " + token + "\n"
	id := func(text string) cache.ID { return cleanID(sha256.Sum256([]byte(text))) }
	var runAt func(version string, now time.Time) *outgoing
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) // ISO week 2026-W49
	digest := cache.Digest("secgate outgoing text 1", "v1", "2026-W49")

	run := func(version string) *outgoing {
		t.Helper()
		return runAt(version, now)
	}
	runAt = func(version string, now time.Time) *outgoing {
		t.Helper()
		o := newOutgoing()
		o.remember(store, version, now, log)
		o.Learn(clean)
		o.Learn(dirty)
		if got := o.Redact(dirty); strings.Contains(got, token) {
			t.Errorf("build %s: the token was not redacted: %q", version, got)
		}
		if err := o.Save(); err != nil {
			t.Fatal(err)
		}
		return o
	}
	run("v1")
	set, warning := store.Load("outgoing", digest)
	if warning != "" || !set.Has(id(clean)) || set.Has(id(dirty)) {
		t.Fatalf("kept: clean %v (want true), dirty %v (want false); warning %q", set.Has(id(clean)), set.Has(id(dirty)), warning)
	}
	// The next run reads the clean text no more, the other again.
	if o := run("v1"); o.learned[sha256.Sum256([]byte(clean))] != nil || o.learned[sha256.Sum256([]byte(dirty))] == nil {
		t.Error("the second run read the clean text again, or not the one with a token")
	}
	if o := run("v2"); o.learned[sha256.Sum256([]byte(clean))] == nil {
		t.Error("another build trusted the first build's set")
	}
	// A set a week: the next week's first run reads its texts again.
	if o := runAt("v1", now.AddDate(0, 0, 7)); o.learned[sha256.Sum256([]byte(clean))] == nil {
		t.Error("the next week read the last week's set")
	}

	// Whoever can write the directory plants a set, under its own key,
	// that says the text with the token is clean: not trusted.
	attacker, _ := cache.Open(dir, 0, []byte("the attacker's own key, 32 bytes"))
	forged, _ := attacker.Load("outgoing", digest)
	forged.Add(id(dirty))
	if err := forged.Save(); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if o := run("v1"); o.learned[sha256.Sum256([]byte(dirty))] == nil {
		t.Error("a forged set was trusted")
	}
	if !strings.Contains(logs.String(), "ignored") {
		t.Errorf("no warning about the forged set: %q", logs.String())
	}
}

// The pipeline's redaction before the gate (Config.Redactor) and the
// gate's share one detector and one set of clean texts: what either
// learned clean is kept once the report's redactor saves, and the next
// run's redaction before the gate knows it.
func TestRedactorSharedWithTheGate(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Path: t.TempDir(), CacheDir: dir, CacheSecret: "a CI secret of the test", InCI: true, Version: "v1",
		Scanners: []Scanner{returns("secrets", vuln("CVE-1", 5.0))}}
	line := "secgate: dry run (CI is not set): scanning and deciding, filing and signing nothing\n"
	early := cfg.Redactor(nil)
	early.Learn(line)
	cfg.Redaction = early
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.SaveRedactor(); err != nil {
		t.Fatal(err)
	}
	next := cfg.Redactor(nil).(*outgoing)
	if next.clean == nil || !next.clean.Has(cleanID(sha256.Sum256([]byte(line)))) {
		t.Error("the line learned before the gate was not kept by the report's redactor")
	}
	if gate, ok := early.(*outgoing); !ok || gate.detector() == nil {
		t.Fatal("no detector")
	}
	red := newOutgoing()
	red.follow(early.(*outgoing))
	if red.detector() != early.(*outgoing).detector() {
		t.Error("the gate's redaction loaded its own detector")
	}
}
