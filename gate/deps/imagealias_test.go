package deps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/extractor/filesystem"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/stats"

	"github.com/secgate/secgate/gate/image/imagetest"
	"github.com/secgate/secgate/policy"
)

const apkZlib = "C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaa=\nP:zlib\nV:1.2.12-r1\nA:x86_64\nS:53346\nI:110592\nT:A compression/decompression Library\nU:https://zlib.net/\nL:Zlib\no:zlib\nm:Natanael Copa <ncopa@alpinelinux.org>\n\n"

const alpine = "PRETTY_NAME=\"Alpine Linux v3.16\"\nID=alpine\nVERSION_ID=3.16.0\n"

// imagePackages extracts the packages of the image the layers make as
// scanImage does (the walk, then the aliases), as "path name@version",
// sorted, with the alias candidates bounded at limit.
func imagePackages(t *testing.T, limit int, layers ...[]imagetest.Entry) ([]string, error) {
	t.Helper()
	exts, err := newExtractors(protoConfig(scanActions{}), forImage)
	if err != nil {
		t.Fatal(err)
	}
	im := readerOf(t, wanted(exts), layers...)
	v := im.chainView(len(im.chains) - 1)
	inv, _, err := filesystem.Run(context.Background(), &filesystem.Config{
		Extractors: exts,
		ScanRoots:  []*scalibrfs.ScanRoot{{FS: v}},
		Stats:      stats.NoopCollector{},
	})
	if err != nil {
		t.Fatal(err)
	}
	aliased, err := aliasPackages(context.Background(), v, exts, limit)
	if err != nil {
		return nil, err
	}
	if err := im.failed(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range append(inv.Packages, aliased...) {
		out = append(out, fmt.Sprintf("%s %s@%s", p.Location.PathOrEmpty(), p.Name, p.Version))
	}
	slices.Sort(out)
	return out, nil
}

// The red team's hides (attack8 lab: hide.py, os.py): each package is
// found, at the path the container opens it by.
func TestImageAliasesFindLinkedPackages(t *testing.T) {
	lock := string(lockfile(map[string]string{"minimist": "1.2.5"}))
	status := dpkgStatus(zlibOld)
	deb := []imagetest.Entry{dir("etc"), file("etc/os-release", bookworm)}
	cases := []struct {
		name   string
		layers [][]imagetest.Entry
		want   []string
	}{
		{"npm node_modules -> /opt/nm", [][]imagetest.Entry{{
			dir("opt/nm"), file("opt/nm/.package-lock.json", lock), dir("app"), symlink("app/node_modules", "/opt/nm"),
		}}, []string{"app/node_modules/.package-lock.json minimist@1.2.5"}},
		{"npm node_modules -> ../opt/nm", [][]imagetest.Entry{{
			dir("opt/nm"), file("opt/nm/.package-lock.json", lock), dir("app"), symlink("app/node_modules", "../opt/nm"),
		}}, []string{"app/node_modules/.package-lock.json minimist@1.2.5"}},
		{"npm lockfile -> /opt/lock.json", [][]imagetest.Entry{{
			dir("opt"), file("opt/lock.json", lock), dir("app/node_modules"), symlink("app/node_modules/.package-lock.json", "/opt/lock.json"),
		}}, []string{"app/node_modules/.package-lock.json minimist@1.2.5"}},
		{"npm app -> /opt/x, link and lockfile in separate layers", [][]imagetest.Entry{
			{dir("opt/x/node_modules"), file("opt/x/node_modules/.package-lock.json", lock)},
			{symlink("app", "/opt/x")},
		}, []string{"opt/x/node_modules/.package-lock.json minimist@1.2.5"}},
		{"dpkg /var/lib/dpkg -> /opt/dpkgdb", [][]imagetest.Entry{append(deb,
			dir("opt/dpkgdb"), file("opt/dpkgdb/status", status), dir("var/lib"), symlink("var/lib/dpkg", "/opt/dpkgdb"),
		)}, []string{"var/lib/dpkg/status zlib1g@1:1.2.13.dfsg-1"}},
		{"dpkg /var -> private/var", [][]imagetest.Entry{append(deb,
			dir("private/var/lib/dpkg"), file("private/var/lib/dpkg/status", status), symlink("var", "private/var"),
		)}, []string{"var/lib/dpkg/status zlib1g@1:1.2.13.dfsg-1"}},
		{"dpkg status -> status.real", [][]imagetest.Entry{append(deb,
			dir("var/lib/dpkg"), file("var/lib/dpkg/status.real", status), symlink("var/lib/dpkg/status", "status.real"),
		)}, []string{"var/lib/dpkg/status zlib1g@1:1.2.13.dfsg-1"}},
		{"apk lib/apk/db -> /opt/apkdb", [][]imagetest.Entry{{
			dir("etc"), file("etc/os-release", alpine),
			dir("opt/apkdb"), file("opt/apkdb/installed", apkZlib), dir("lib/apk"), symlink("lib/apk/db", "/opt/apkdb"),
		}}, []string{"lib/apk/db/installed zlib@1.2.12-r1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := imagePackages(t, maxAliasCandidates, c.layers...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// Debian 12 links /lib, /bin and /sbin into /usr: a package found at its
// real path is not reported again through the link, and a file at an
// ordinary path is not reported twice through a link to its directory.
func TestImageAliasesMergedUsrOnce(t *testing.T) {
	lock := string(lockfile(map[string]string{"minimist": "1.2.5"}))
	got, err := imagePackages(t, maxAliasCandidates, []imagetest.Entry{
		dir("etc"), file("etc/os-release", bookworm),
		dir("usr/lib/node_modules/npm/node_modules"), file("usr/lib/node_modules/npm/node_modules/.package-lock.json", lock),
		symlink("lib", "usr/lib"), symlink("lib64", "usr/lib"), symlink("bin", "usr/bin"), dir("usr/bin"),
		dir("var/lib/dpkg"), file("var/lib/dpkg/status", dpkgStatus(zlibOld)),
		dir("srv"), symlink("srv/lib", "/var/lib"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"usr/lib/node_modules/npm/node_modules/.package-lock.json minimist@1.2.5",
		"var/lib/dpkg/status zlib1g@1:1.2.13.dfsg-1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A link to an ancestor (Debian's /usr/bin/X11 -> .), to the root, and a
// loop of links end, and the package under them is found once.
func TestImageAliasesCycleEnds(t *testing.T) {
	lock := string(lockfile(map[string]string{"minimist": "1.2.5"}))
	got, err := imagePackages(t, maxAliasCandidates, []imagetest.Entry{
		dir("opt/nm"), file("opt/nm/.package-lock.json", lock),
		symlink("opt/nm/self", "."), symlink("opt/nm/up", ".."), symlink("opt/root", "/"),
		symlink("a", "b"), symlink("b", "a"),
		dir("app"), symlink("app/node_modules", "/opt/nm"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app/node_modules/.package-lock.json minimist@1.2.5"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Past the bound on paths through links the scan fails, never partial.
func TestImageAliasesBound(t *testing.T) {
	lock := string(lockfile(map[string]string{"minimist": "1.2.5"}))
	var entries []imagetest.Entry
	entries = append(entries, dir("opt/nm"), file("opt/nm/.package-lock.json", lock))
	for i := range 10 {
		entries = append(entries, file(fmt.Sprintf("opt/nm/f%d", i), "x"))
	}
	entries = append(entries, dir("app"), symlink("app/node_modules", "/opt/nm"))
	if _, err := imagePackages(t, 11, entries); err != nil {
		t.Fatalf("11 candidates within a bound of 11: %v", err)
	}
	_, err := imagePackages(t, 10, entries)
	if err == nil || !strings.Contains(err.Error(), "more than 10 paths reach files through symlinks") {
		t.Fatalf("11 candidates past a bound of 10: %v", err)
	}
}

// Through the whole scan: minimist behind app/node_modules -> /opt/nm is
// matched and reported at the path the container sees.
func TestImageAliasesScanned(t *testing.T) {
	archive := historyArchive(t,
		historyLayer{"COPY nm /opt/nm", []imagetest.Entry{
			file("opt/nm/.package-lock.json", string(lockfile(map[string]string{"minimist": "1.2.5"}))),
		}},
		historyLayer{"RUN ln -s /opt/nm /app/node_modules", []imagetest.Entry{
			dir("app"), symlink("app/node_modules", "/opt/nm"),
		}},
	)
	opts := Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}}
	var res policy.ScanResult
	var err error
	withEngine(scalibrEngine{}, func() { res, err = scanDir(t, opts) })
	if err != nil {
		t.Fatal(err)
	}
	if !found(res, "/app/node_modules/.package-lock.json", "minimist", "GHSA-xvch-5gv4-984h") {
		t.Errorf("minimist behind a linked node_modules not reported: %v", ids(res))
	}
}
