package deps

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/osv-scalibr/purl"
)

// The package list (the SBOM's input) holds every package of the real
// lockfiles, vulnerable or not, each with its lockfile and a valid purl
// of its ecosystem's type; the npm and PyPI ones are compared with the
// files read here independently.
func TestPackagesListEveryPackage(t *testing.T) {
	res, err := scanDir(t, Options{Root: "testdata", OfflineDB: sharedDB})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != res.Coverage.Packages || len(res.Packages) == 0 {
		t.Fatalf("%d packages listed, %d counted", len(res.Packages), res.Coverage.Packages)
	}
	got := map[string][]string{}
	for _, p := range res.Packages {
		got[p.Source] = append(got[p.Source], p.Name+"@"+p.Version)
		u, err := purl.FromString(p.PURL)
		if err != nil {
			t.Errorf("%s: purl %q: %v", p.Name, p.PURL, err)
			continue
		}
		if want := purlTypes[p.Ecosystem]; u.Type != want || u.Version != p.Version {
			t.Errorf("%s %s: purl %q, want type %s and version %s", p.Ecosystem, p.Name, p.PURL, want, p.Version)
		}
		if p.Image != "" || p.Layer != "" {
			t.Errorf("%s: a lockfile package placed in an image: %+v", p.Name, p)
		}
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join("testdata", "npm", "package-lock.json")), &lock); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for k, v := range lock.Packages {
		if name, ok := strings.CutPrefix(k, "node_modules/"); ok {
			want["npm/package-lock.json"] = append(want["npm/package-lock.json"], name+"@"+v.Version)
		}
	}
	for _, f := range []string{"python/requirements.txt", "fixed/requirements.txt"} {
		for l := range strings.Lines(string(mustRead(t, filepath.Join("testdata", f)))) {
			if name, v, ok := strings.Cut(strings.TrimSpace(l), "=="); ok {
				want[f] = append(want[f], strings.ToLower(name)+"@"+v)
			}
		}
	}
	for src, w := range want {
		g := slices.Clone(got[src])
		for i := range g {
			g[i] = strings.ToLower(g[i])
		}
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s: packages %v, want %v", src, g, w)
		}
	}
	for _, src := range []string{"maven/pom.xml", "rust/Cargo.lock", "ruby/Gemfile.lock", "golang/go.mod"} {
		if len(got[src]) == 0 {
			t.Errorf("%s: no packages listed", src)
		}
	}
}

// An image's packages name the image, the path in it and the layer.
func TestImagePackagesListed(t *testing.T) {
	archive := dockerArchive(t,
		map[string]string{"etc/hostname": "shop\n"},
		map[string]string{"app/node_modules/.package-lock.json": string(lockfile(map[string]string{"lodash": "4.17.15", "left-pad": "1.3.0"}))},
	)
	res, err := scanDir(t, Options{Root: t.TempDir(), OfflineDB: sharedDB, Images: []string{"docker-archive:" + archive}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Packages {
		names = append(names, p.Name)
		if p.Image != "docker-archive:"+archive || p.Source != "/app/node_modules/.package-lock.json" || !strings.HasPrefix(p.Layer, "1 sha256:") || p.PURL != "pkg:npm/"+p.Name+"@"+p.Version {
			t.Errorf("image package not placed: %+v", p)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"left-pad", "lodash"}) {
		t.Errorf("image packages %v, want left-pad and lodash (vulnerable or not)", names)
	}
}

// The purls built where an extractor gives none.
func TestPurlOf(t *testing.T) {
	for _, c := range []struct{ eco, name, version, want string }{
		{"npm", "@babel/core", "7.24.0", "pkg:npm/%40babel/core@7.24.0"},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
		{"Go", "golang.org/x/net", "v0.12.0", "pkg:golang/golang.org/x/net@v0.12.0"},
		{"PyPI", "requests", "2.19.0", "pkg:pypi/requests@2.19.0"},
		{"Debian:12", "openssl", "3.0.11-1~deb12u1", "pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12"},
		{"Alpine:v3.19", "zlib", "1.3-r2", "pkg:apk/alpine/zlib@1.3-r2?distro=alpine-v3.19"},
		{"Bitnami", "redis", "7.0.0", "pkg:generic/redis@7.0.0"},
	} {
		if got := purlOf(c.eco, c.name, c.version); got != c.want {
			t.Errorf("purlOf(%s, %s) = %s, want %s", c.eco, c.name, got, c.want)
		}
	}
}
