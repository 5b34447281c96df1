package lazyre

import (
	"sync"
	"testing"
)

func TestCompiledOnceOnFirstUse(t *testing.T) {
	r := New(`\bapt(-get)?\s+install\b`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !r.MatchString("apt-get install -y curl") || r.MatchString("apt-get update") {
				t.Error("wrong match")
			}
		}()
	}
	wg.Wait()
	first := r.Regexp()
	if again := r.Regexp(); again != first {
		t.Error("compiled more than once")
	}
	if m := New(`(\w+)=(\w+)`).FindStringSubmatch("a=b"); len(m) != 3 || m[2] != "b" {
		t.Errorf("submatch %q", m)
	}
	if got := New(`\$(\w+)`).ReplaceAllStringFunc("x $A y", func(string) string { return "1" }); got != "x 1 y" {
		t.Errorf("replace %q", got)
	}
}

// An invalid expression is not noticed at New but at first use, with
// regexp.MustCompile's panic.
func TestInvalidPanicsOnUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Error("no panic on an invalid expression")
		}
	}()
	r.MatchString("x")
}
