package deps

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secgate/secgate/policy"
)

// Issue 26: what the package manager installs is what the gate checks.
// Every case is scanned as written, through a symlink inside the tree (the
// case's lockfile a link to a file of another name elsewhere in the tree),
// and with a UTF-8 byte order mark at the start of the lockfile.

type layout string

const (
	asWritten   layout = "as written"
	throughLink layout = "through a symlink"
	withBOM     layout = "with a BOM"
)

// lay writes files into a new tree; the file named lockfile is written
// per the layout.
func lay(t *testing.T, files map[string]string, lockfile string, l layout) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		dst := filepath.Join(root, filepath.FromSlash(p))
		if p == lockfile {
			switch l {
			case withBOM:
				content = "\ufeff" + content
			case throughLink:
				target := filepath.Join(root, "shared", strings.ReplaceAll(p, "/", "-")+".pinned")
				if err := writeFile(target, []byte(content)); err != nil {
					t.Fatal(err)
				}
				rel, err := filepath.Rel(filepath.Dir(dst), target)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(rel, dst); err != nil {
					t.Fatal(err)
				}
				continue
			}
		}
		if err := writeFile(dst, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// found reports whether res has the advisory id (or an alias of it) for
// pkg in the file at path.
func found(res policy.ScanResult, path, pkg, id string) bool {
	for _, f := range res.Findings {
		if f.Location.Path == path && f.Location.Package == pkg && (f.ID == id || slices.Contains(f.Aliases, id)) {
			return true
		}
	}
	return false
}

func ids(res policy.ScanResult) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Location.Path+":"+f.Location.Package+"@"+f.Location.Version+":"+f.ID)
	}
	return out
}

type installCase struct {
	name     string
	files    map[string]string
	lockfile string // the file laid out as a link or with a BOM
	path     string // where the finding is reported
	pkg, id  string // the advisory pip or npm would install
	layouts  []layout
}

func runInstallCases(t *testing.T, cases []installCase) {
	t.Helper()
	for _, c := range cases {
		layouts := c.layouts
		if layouts == nil {
			layouts = []layout{asWritten, throughLink, withBOM}
		}
		for _, l := range layouts {
			t.Run(c.name+" "+string(l), func(t *testing.T) {
				root := lay(t, c.files, c.lockfile, l)
				res, err := scanDir(t, Options{Root: root, OfflineDB: sharedDB})
				if err != nil {
					t.Fatal(err)
				}
				if !found(res, c.path, c.pkg, c.id) {
					t.Errorf("%s of %s in %s not found; findings %v notes %v", c.id, c.pkg, c.path, ids(res), res.Notes)
				}
				d := policy.Default().Decide(res.Findings, policy.Context{Now: now, Environment: "production"})
				if !d.Blocking() {
					t.Errorf("the default policy does not block a production deployment; findings %v", ids(res))
				}
			})
		}
	}
}

// TestEquivalentVersions: PYSEC-2023-192 (urllib3, CVSS 8.1) matches only
// through its explicit versions list (its GIT range comes first: see
// equivalent.go); pip installs 2.0.4 for each spelling. Removing the
// matchEquivalents call fails every case but the first.
func TestEquivalentVersions(t *testing.T) {
	var cases []installCase
	for _, v := range []string{"2.0.4", "v2.0.4", "V2.0.4", "02.0.04", "2.0.4.0", "2.00.4.0.0"} {
		cases = append(cases, installCase{
			name:     "urllib3==" + v,
			files:    map[string]string{"requirements.txt": "urllib3==" + v + "\n"},
			lockfile: "requirements.txt", path: "requirements.txt", pkg: "urllib3", id: "PYSEC-2023-192",
		})
	}
	runInstallCases(t, cases)
}

func TestPEP440Spellings(t *testing.T) {
	for v, want := range map[string][]string{
		"1.24.1":            {"1.24.1"},
		"v1.24.1":           {"1.24.1"},
		"01.24.01":          {"1.24.1"},
		"1.24.1.0":          {"1.24.1", "1.24.1.0"},
		"2.0":               {"2", "2.0", "2.0.0"},
		"1!2.0.0":           {"1!2", "1!2.0", "1!2.0.0"},
		"0!1.2.3":           {"1.2.3"},
		"1.0RC1":            {"1rc1", "1.0rc1", "1.0.0rc1"},
		"1.2.3-Alpha_2":     {"1.2.3a2"},
		"1.2.3.preview":     {"1.2.3rc0"},
		"1.2.3-4":           {"1.2.3.post4"},
		"1.2.3_rev":         {"1.2.3.post0"},
		"1.2.3-DEV-01":      {"1.2.3.dev1"},
		"1.2.3+Ubuntu_01.x": {"1.2.3+ubuntu.1.x"},
		"not a version":     nil,
		"1.2.3; x":          nil,
	} {
		if got := pep440Spellings(v); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", v, got, want)
		}
	}
}
