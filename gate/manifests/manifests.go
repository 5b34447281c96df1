// Package manifests checks how Kubernetes manifests and Compose files run
// containers — as root, privileged, with the engine's socket, with host
// namespaces — against the Pod Security Standards (baseline and
// restricted) and the practices kube-score and checkov check. Only the
// fields the checks read are decoded, from goccy/go-yaml's syntax tree, so
// that each finding points at the line of the key to change.
package manifests

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/internal/cache"
	"github.com/secgate/secgate/policy"
)

// Options say what to scan and how to judge it.
type Options struct {
	Root    string
	Tiers   map[string]policy.Severity // by check id (the policy's, else the catalogue's)
	Exclude []string                   // directory names to skip
	Logger  *slog.Logger
	// Cache keeps the result between runs (cache.go); CacheVersion names
	// this build in its digests; Now is when entries are written.
	Cache        *cache.Store
	CacheVersion string
	Now          time.Time
}

// Scanner is the manifests scanner.
type Scanner struct{ opts Options }

// New makes the scanner.
func New(o Options) *Scanner {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scanner{opts: o}
}

func (s *Scanner) now() time.Time {
	if s.opts.Now.IsZero() {
		return time.Now()
	}
	return s.opts.Now
}

func (s *Scanner) Name() string   { return "manifests" }
func (s *Scanner) Target() string { return "Kubernetes and Compose files under " + s.opts.Root }

// maxFile is the largest YAML file read: a rendered chart of many
// objects is a few hundred kB.
const maxFile = 8 << 20

// Scan reads every *.yaml, *.yml and *.json under the root that parses as
// Kubernetes objects or a Compose file, and checks each container. With a
// cache (Options.Cache) an unchanged set of files is not parsed again
// (cache.go).
func (s *Scanner) Scan(ctx context.Context) (policy.ScanResult, error) {
	var walked policy.Coverage
	files, err := s.walk(ctx, &walked)
	if err != nil {
		// what was found before the walk stopped is still reported
		res, _ := s.check(context.WithoutCancel(ctx), walked, files)
		return res, err
	}
	if s.opts.Cache == nil {
		res, _ := s.check(ctx, walked, files)
		return res, ctx.Err()
	}
	return s.cachedCheck(ctx, walked, files)
}

// candidate is a file the walk found that may be a manifest: its path,
// its slash-separated path from the root, and (with a cache) its
// content's SHA-256, or that it could not be read.
type candidate struct {
	path, rel  string
	sum        [32]byte
	unreadable bool
}

// walk lists the files that may be manifests, in the walk's order, with
// the walk's own coverage (the directories .gitignore leaves out).
func (s *Scanner) walk(ctx context.Context, walked *policy.Coverage) ([]candidate, error) {
	var files []candidate
	err := repo.WalkFiles(ctx, s.opts.Root, s.opts.Exclude, maxFile, walked, func(p, rel string) error {
		switch strings.ToLower(path.Ext(rel)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		c := candidate{path: p, rel: rel}
		if s.opts.Cache != nil {
			c.sum, c.unreadable = fileSum(p)
		}
		files = append(files, c)
		return nil
	})
	return files, err
}

// check reads and checks the files; same is false when a file's content
// is not the one the walk hashed (it changed meanwhile: the result is a
// fresh run's, but not the one the cache key names).
func (s *Scanner) check(ctx context.Context, walked policy.Coverage, files []candidate) (res policy.ScanResult, same bool) {
	res.Coverage = walked
	same = true
	c := &collector{s: s, seen: map[string]bool{}}
	var helm, unparsable []string
	for _, f := range files {
		if ctx.Err() != nil {
			return res, false
		}
		data, err := os.ReadFile(f.path)
		if s.opts.Cache != nil && !f.holds(data, err) {
			same = false
		}
		if err != nil {
			continue
		}
		switch c.file(f.rel, data) {
		case fileHelm:
			helm = append(helm, f.rel)
		case fileUnparsable:
			unparsable = append(unparsable, f.rel)
		case fileManifest:
			res.Coverage.Files++
			res.Coverage.Bytes += int64(len(data))
		}
	}
	if len(helm) > 0 {
		res.Coverage.AddSkip("file", "a Helm template, not YAML until rendered", helm...)
		res.Notes = append(res.Notes, fmt.Sprintf("%d Helm template(s) skipped (%s): scan the rendered output, `helm template RELEASE CHART > rendered.yaml`, then secgate on it", len(helm), strings.Join(first(helm, 3), ", ")))
	}
	if len(unparsable) > 0 {
		res.Coverage.AddSkip("file", "not valid YAML", unparsable...)
	}
	res.Findings, res.Deployments = c.findings, c.deployments
	res.Warnings = append(res.Warnings, c.warnings...)
	res.Notes = append(res.Notes, fmt.Sprintf("%d workload(s) and %d Compose service(s) checked", c.workloads, c.services))
	return res, same
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(slices.Clone(s[:n]), "…")
	}
	return s
}

type fileKind int

const (
	fileOther fileKind = iota
	fileManifest
	fileHelm
	fileUnparsable
)

var (
	templateMarks = regexp.MustCompile(`\{\{-?\s*[.$a-zA-Z(/-]`)
	k8sShape      = regexp.MustCompile(`(?m)^\s*apiVersion:\s*\S+[\s\S]*^\s*kind:\s*[A-Z]\w+`)
	composeName   = regexp.MustCompile(`(?i)^(docker-)?compose([.-][\w.-]*)?\.ya?ml$`)
	errPos        = regexp.MustCompile(`^\[(\d+):\d+\]`)
)

// collector gathers the findings of the files.
type collector struct {
	s                   *Scanner
	findings            []policy.Finding
	warnings            []string
	deployments         []policy.Deployment
	seen                map[string]bool
	visited             map[ast.Node]bool // the objects of the file being read
	workloads, services int
}

// file reads one file: Kubernetes objects, a Compose file, or neither.
func (c *collector) file(rel string, data []byte) fileKind {
	data = yamlText(data)
	if templateMarks.Match(data) && (strings.Contains("/"+rel, "/templates/") || bytes.Contains(data, []byte("{{ .Values")) || bytes.Contains(data, []byte("{{- "))) {
		return fileHelm
	}
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		if templateMarks.Match(data) {
			return fileHelm
		}
		if k8sShape.Match(data) {
			// Clearly a manifest, and broken: say where, never a finding.
			// The parser's message only, not the source lines it quotes
			// (a manifest may hold a secret).
			msg, _, _ := strings.Cut(err.Error(), "\n")
			where := rel
			if m := errPos.FindStringSubmatch(msg); m != nil {
				where, msg = rel+":"+m[1], strings.TrimSpace(msg[len(m[0]):])
			}
			c.warnings = append(c.warnings, fmt.Sprintf("%s: a Kubernetes manifest that is not valid YAML, not checked: %s", where, msg))
		}
		return fileUnparsable
	}
	kind := fileOther
	c.visited = map[ast.Node]bool{}
	for _, doc := range f.Docs {
		dups := resolve(doc)
		body := doc.Body
		if body == nil || !isMapping(body) {
			continue
		}
		checked := false
		if get(body, "apiVersion") != nil && get(body, "kind") != nil {
			checked = c.object(rel, body)
		} else {
			checked = c.compose(rel, body, composeName.MatchString(path.Base(rel)))
		}
		if !checked {
			continue
		}
		kind = fileManifest
		for _, d := range dups {
			c.add(CheckDuplicateKey, rel, d.line, "key "+d.key, d.key+" is written twice in one mapping: kubectl's strict validation rejects the file, lenient clients take the last value, some parsers the first",
				"write "+d.key+" once")
		}
	}
	return kind
}

// add records a finding once per check, file and object.
func (c *collector) add(check, rel string, ln int, object, detail, fix string) {
	f := policy.FileFinding(policy.KindManifest, Checks, c.s.opts.Tiers, check, rel, ln, object, detail, fix)
	if !c.seen[f.Fingerprint] {
		c.seen[f.Fingerprint] = true
		c.findings = append(c.findings, f)
	}
}

// yamlText is a file's text as a YAML reader of the cluster's reads it:
// YAML allows a byte-order mark, and UTF-16 with one (sigs.k8s.io/yaml,
// which kubectl uses, reads both); goccy/go-yaml reads neither, and a
// manifest behind a BOM read as nothing (a privileged pod passed).
func yamlText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return data[3:]
	case len(data) >= 2 && (data[0] == 0xff && data[1] == 0xfe || data[0] == 0xfe && data[1] == 0xff):
		order := binary.ByteOrder(binary.LittleEndian)
		if data[0] == 0xfe {
			order = binary.BigEndian
		}
		units := make([]uint16, 0, len(data)/2)
		for i := 2; i+1 < len(data); i += 2 {
			units = append(units, order.Uint16(data[i:]))
		}
		return []byte(string(utf16.Decode(units)))
	}
	return data
}
