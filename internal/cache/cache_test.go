package cache

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func id(n int) ID {
	var i ID
	copy(i[:], fmt.Sprintf("%020d", n))
	return i
}

func TestSaveLoad(t *testing.T) {
	s, err := Open(t.TempDir(), 0, testKey)
	if err != nil {
		t.Fatal(err)
	}
	d := Digest("rules v1")
	set, warn := s.Load("secrets-files", d)
	if warn != "" || set.Len() != 0 {
		t.Fatalf("a new set: %q %d", warn, set.Len())
	}
	for i := range 100 {
		set.Add(id(i))
	}
	if err := set.Save(); err != nil {
		t.Fatal(err)
	}
	again, warn := s.Load("secrets-files", d)
	if warn != "" || again.Len() != 100 || !again.Has(id(42)) || again.Has(id(100)) {
		t.Errorf("reloaded: %q, %d ids", warn, again.Len())
	}
	// Another configuration's set is another file, and empty.
	if other, _ := s.Load("secrets-files", Digest("rules v2")); other.Len() != 0 {
		t.Errorf("another digest sees %d ids", other.Len())
	}
}

// A corrupt, truncated, foreign or other-version file is ignored with a
// warning, never trusted, never an error; the next save replaces it.
func TestBadFilesAreIgnored(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 0, testKey)
	d := Digest("x")
	set, _ := s.Load("secrets-files", d)
	set.Add(id(1))
	if err := set.Save(); err != nil {
		t.Fatal(err)
	}
	path := set.path()
	good, _ := os.ReadFile(path)
	other, _ := s.Load("secrets-files", Digest("y"))
	other.Add(id(2))
	if err := other.Save(); err != nil {
		t.Fatal(err)
	}
	foreign, _ := os.ReadFile(other.path())
	flip := append([]byte(nil), good...)
	flip[len(flip)/2] ^= 1
	version := append([]byte(nil), good...)
	version[len(magic)] = 9
	for name, data := range map[string][]byte{
		"corrupt":   flip,
		"truncated": good[:len(good)-7],
		"empty":     nil,
		"foreign":   foreign,
		"version":   version,
		"not ours":  []byte("hello"),
	} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, warn := s.Load("secrets-files", d)
		if warn == "" || got.Len() != 0 || !strings.Contains(warn, "ignored") {
			t.Errorf("%s: warning %q, %d ids trusted", name, warn, got.Len())
		}
		got.Add(id(3))
		if err := got.Save(); err != nil {
			t.Errorf("%s: save over it: %v", name, err)
		}
		if back, warn := s.Load("secrets-files", d); warn != "" || !back.Has(id(3)) {
			t.Errorf("%s: after a save: %q", name, warn)
		}
	}
}

// Runs sharing a directory: every file read is whole and valid, and each
// run's ids survive when they save one after the other.
func TestConcurrentSaves(t *testing.T) {
	s, _ := Open(t.TempDir(), 0, testKey)
	d := Digest("z")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				set, warn := s.Load("secrets-files", d)
				if warn != "" {
					t.Errorf("worker %d: %s", w, warn)
					return
				}
				set.Add(id(w*1000 + round))
				if err := set.Save(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	final, warn := s.Load("secrets-files", d)
	if warn != "" || final.Len() == 0 {
		t.Fatalf("after concurrent saves: %q, %d ids", warn, final.Len())
	}
	for w := range 8 {
		if !final.Has(id(w*1000+19)) && !final.Has(id(w*1000+18)) {
			t.Logf("worker %d's last ids were overwritten by another run (allowed: lost, never wrong)", w)
		}
	}
	left, _ := os.ReadDir(s.dir)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
}

// Past the bound, the sets least recently written go first; the one just
// written stays.
func TestEviction(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 3000, testKey)
	var paths []string
	for n := range 4 {
		set, _ := s.Load("secrets-files", Digest(fmt.Sprint(n)))
		for i := range 40 { // ~900 bytes each
			set.Add(id(i))
		}
		if err := set.Save(); err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(time.Duration(n-10) * time.Minute)
		_ = os.Chtimes(set.path(), past, past)
		paths = append(paths, set.path())
	}
	if s.Size() > 3000 {
		t.Errorf("size %d over the 3000 bound", s.Size())
	}
	if _, err := os.Stat(paths[3]); err != nil {
		t.Error("the set written last was evicted")
	}
	if _, err := os.Stat(paths[0]); err == nil {
		t.Error("the oldest set was kept")
	}
}

// A set rewritten every run only grew (every changed file adds an id),
// and it is read whole every run. Once it holds more than keepFactor
// times what its run used, and more than minKeep, the unused ids go;
// below that nothing is dropped. Removing prune from Save fails it.
func TestSetPrunedToWhatRunsUse(t *testing.T) {
	s, err := Open(t.TempDir(), 0, testKey)
	if err != nil {
		t.Fatal(err)
	}
	d := Digest("rules v1")
	set, _ := s.Load("secrets-files", d)
	for i := range minKeep {
		set.Add(id(i))
	}
	if err := set.Save(); err != nil {
		t.Fatal(err)
	}
	// A run that uses 10 ids and adds one: 65,537 ids, over minKeep and
	// over 4x the 11 used: the rest go.
	run, _ := s.Load("secrets-files", d)
	for i := range 10 {
		if !run.Has(id(i)) {
			t.Fatalf("id %d lost before any prune", i)
		}
	}
	run.Add(id(minKeep))
	if err := run.Save(); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Load("secrets-files", d)
	if after.Len() != 11 || !after.Has(id(0)) || !after.Has(id(9)) || !after.Has(id(minKeep)) || after.Has(id(10)) {
		t.Errorf("after a run that used 11 of %d ids: %d kept", minKeep+1, after.Len())
	}
	// Below minKeep nothing goes, however few a run uses.
	small, _ := s.Load("secrets-small", d)
	for i := range 1000 {
		small.Add(id(i))
	}
	if err := small.Save(); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Load("secrets-small", d)
	again.Add(id(5000))
	if err := again.Save(); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.Load("secrets-small", d); last.Len() != 1001 {
		t.Errorf("a set under minKeep was pruned: %d ids, want 1001", last.Len())
	}
}
