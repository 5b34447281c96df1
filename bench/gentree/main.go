// Command gentree generates benchmark inputs for bench/secrets.sh: a tree of
// source files of a given total size, or a git fast-import stream of many
// commits. Output is deterministic for a given seed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

var words = strings.Fields(`func return if else for range var const type struct interface map string int
error nil true false config client server request response handler token key value user name id
password secret auth access api url host port timeout retry buffer cache index count total result
err ctx logger metrics options default update delete create list get set parse format write read`)

func line(r *rand.Rand) string {
	n := 3 + r.IntN(9)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = words[r.IntN(len(words))]
	}
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("\t%s := %q", ws[0], strings.Join(ws[1:], " "))
	case 1:
		return fmt.Sprintf("\t// %s", strings.Join(ws, " "))
	case 2:
		return fmt.Sprintf("\t%s.%s(%s, %d)", ws[0], ws[1], ws[2], r.IntN(10000))
	default:
		return "\t" + strings.Join(ws, " ")
	}
}

func file(r *rand.Rand, size int) string {
	var b strings.Builder
	b.WriteString("package gen\n\n")
	for b.Len() < size {
		b.WriteString(line(r))
		b.WriteByte('\n')
	}
	return b.String()
}

func main() {
	out := flag.String("out", "", "directory to write a source tree into")
	mb := flag.Int("mb", 50, "total size of the tree, in MB")
	commits := flag.Int("commits", 0, "write a git fast-import stream of this many commits to stdout instead")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	r := rand.New(rand.NewPCG(*seed, 0))

	if *commits > 0 {
		w := bufio.NewWriter(os.Stdout)
		for i := 1; i <= *commits; i++ {
			content := file(r, 2000)
			fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata <<EOM\ncommit %d\nEOM\n", i, 1700000000+i, i)
			if i > 1 {
				fmt.Fprintf(w, "from :%d\n", i-1)
			}
			fmt.Fprintf(w, "M 644 inline pkg%d/file%d.go\ndata %d\n%s\n", i%50, i%400, len(content), content)
		}
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gentree: -out or -commits is required")
		os.Exit(2)
	}
	const fileSize = 12 * 1024
	n := *mb * 1024 * 1024 / fileSize
	for i := range n {
		p := filepath.Join(*out, fmt.Sprintf("pkg%03d", i%100), fmt.Sprintf("file%05d.go", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(p, []byte(file(r, fileSize)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
