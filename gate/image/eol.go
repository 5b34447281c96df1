package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CheckOSEOL is the check of an image whose OS release reached its end of
// life: its vendor publishes no security update, and no advisory either,
// so "0 vulnerabilities" in its packages means nothing.
const CheckOSEOL = "image-os-eol"

// eolTable is the embedded end-of-life table: per endoflife.date product,
// per release cycle, the last day of free security support. Compiled by
// hand on 2026-12-03 from each vendor's published lifecycle (the
// endoflife.date pages of the same names list them): Debian's LTS end
// (the Debian LTS team's DLAs are in Debian's security tracker, which OSV's
// Debian data follows), Ubuntu's standard support (not Ubuntu Pro/ESM),
// RHEL's maintenance support (UBI follows RHEL), Alpine's two years per
// branch, Fedora's release + ~13 months, openSUSE Leap's maintenance end.
// DIR/eol/<product>.json (endoflife.date's API, fetched by --download-db)
// replaces a product's row: the vendors move dates, the table does not.
var eolTable = map[string]map[string]string{
	"debian": {"7": "2018-05-31", "8": "2020-06-30", "9": "2022-06-30", "10": "2024-06-30", "11": "2026-08-31", "12": "2028-06-30", "13": "2030-06-30"},
	"ubuntu": {"14.04": "2019-04-25", "16.04": "2021-04-30", "18.04": "2023-05-31", "20.04": "2025-05-31", "22.04": "2027-06-01", "24.04": "2029-05-31",
		"23.04": "2024-01-25", "23.10": "2024-07-11", "24.10": "2025-07-10", "25.04": "2026-01-15", "25.10": "2026-07-09", "26.04": "2031-05-31"},
	"alpine-linux": {"3.12": "2022-05-01", "3.13": "2022-11-01", "3.14": "2023-05-01", "3.15": "2023-11-01", "3.16": "2024-05-23", "3.17": "2024-11-22",
		"3.18": "2025-05-09", "3.19": "2025-11-01", "3.20": "2026-04-01", "3.21": "2026-11-01", "3.22": "2027-05-01", "3.23": "2027-11-01"},
	"rhel":          {"6": "2020-11-30", "7": "2024-06-30", "8": "2029-05-31", "9": "2032-05-31", "10": "2035-05-31"},
	"centos":        {"6": "2020-11-30", "7": "2024-06-30", "8": "2021-12-31"},
	"centos-stream": {"8": "2024-05-31", "9": "2027-05-31", "10": "2030-01-01"},
	"amazon-linux":  {"2018.03": "2023-12-31", "2": "2026-06-30", "2023": "2029-06-30"},
	"fedora":        {"38": "2024-05-21", "39": "2024-11-26", "40": "2025-05-13", "41": "2025-12-15", "42": "2026-05-13", "43": "2026-12-09", "44": "2027-05-12"},
	"opensuse":      {"15.3": "2022-12-31", "15.4": "2023-12-31", "15.5": "2024-12-31", "15.6": "2026-04-30", "16.0": "2027-10-31"},
}

// osRelease is what /etc/os-release says, as read.
type osRelease struct {
	ID, VersionID, Name, PrettyName string
}

// parseOSRelease reads an os-release file: KEY=value lines, values
// unquoted, "double" or 'single' quoted, comments and blank lines skipped.
func parseOSRelease(data []byte) osRelease {
	var r osRelease
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
		}
		switch k {
		case "ID":
			r.ID = strings.ToLower(v)
		case "VERSION_ID":
			r.VersionID = v
		case "NAME":
			r.Name = v
		case "PRETTY_NAME":
			r.PrettyName = v
		}
	}
	return r
}

// release maps an os-release to an endoflife.date product and cycle; ok is
// false for an OS the table does not cover (and what to say of it).
func (r osRelease) release() (product, cycle, label string, ok bool) {
	id := r.ID
	// Distroless images say ID=debian; older ones only their name.
	if id == "" && (strings.Contains(r.PrettyName, "Distroless") || strings.Contains(r.Name, "Debian")) {
		id = "debian"
	}
	v := r.VersionID
	major, _, _ := strings.Cut(v, ".")
	switch id {
	case "debian":
		return "debian", major, "Debian " + major, v != ""
	case "ubuntu":
		return "ubuntu", v, "Ubuntu " + v, v != ""
	case "alpine":
		parts := strings.Split(v, ".")
		if len(parts) < 2 {
			return "alpine-linux", "", "Alpine " + v, false
		}
		return "alpine-linux", parts[0] + "." + parts[1], "Alpine " + parts[0] + "." + parts[1], true
	case "rhel":
		return "rhel", major, "Red Hat Enterprise Linux (UBI) " + major, v != ""
	case "centos":
		if strings.Contains(r.Name, "Stream") {
			return "centos-stream", major, "CentOS Stream " + major, v != ""
		}
		return "centos", major, "CentOS " + major, v != ""
	case "amzn":
		return "amazon-linux", v, "Amazon Linux " + v, v != ""
	case "fedora":
		return "fedora", v, "Fedora " + v, v != ""
	case "opensuse-leap":
		return "opensuse", v, "openSUSE Leap " + v, v != ""
	}
	return "", "", cmpOr(r.PrettyName, r.ID), false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// eolCycle is one release of endoflife.date's API
// (https://endoflife.date/api/<product>.json): "eol" is a date, or a
// boolean when the vendor gives none. Other fields (releaseDate, latest,
// lts, support, extendedSupport, link…) are not read.
type eolCycle struct {
	Cycle json.RawMessage `json:"cycle"`
	EOL   json.RawMessage `json:"eol"`
}

// loadEOL reads DIR/eol/<product>.json, if present, as the product's
// table: nil, nil when there is none.
func loadEOL(dir, product string) (map[string]string, error) {
	if dir == "" {
		return nil, nil
	}
	path := filepath.Join(dir, "eol", product+".json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var cycles []eolCycle
	if err := json.Unmarshal(b, &cycles); err != nil {
		return nil, fmt.Errorf("end-of-life data %s: not endoflife.date's API format: %w", path, err)
	}
	out := map[string]string{}
	for i, c := range cycles {
		var name string
		if err := json.Unmarshal(c.Cycle, &name); err != nil {
			var n json.Number
			if err := json.Unmarshal(c.Cycle, &n); err != nil {
				return nil, fmt.Errorf("end-of-life data %s: cycle %d has no name", path, i)
			}
			name = n.String()
		}
		var date string
		var flag bool
		switch {
		case json.Unmarshal(c.EOL, &date) == nil:
			if _, err := time.Parse(time.DateOnly, date); err != nil {
				return nil, fmt.Errorf("end-of-life data %s: cycle %s: eol %q is not a date", path, name, date)
			}
		case json.Unmarshal(c.EOL, &flag) == nil:
			// true without a date: ended, on a day not given (the epoch
			// stands for it); false: no end announced.
			if flag {
				date = "1970-01-01"
			} else {
				date = ""
			}
		default:
			return nil, fmt.Errorf("end-of-life data %s: cycle %s: eol is neither a date nor a boolean", path, name)
		}
		out[name] = date
	}
	return out, nil
}

// eolVerdict is what the table says of a release.
type eolVerdict struct {
	label, date  string // "Debian 10", "2024-06-30"
	known, ended bool
	source       string
}

// checkEOL looks a release up: the override file's table for its product
// when present, else the embedded one.
func checkEOL(r osRelease, dir string, now time.Time) (eolVerdict, error) {
	product, cycle, label, ok := r.release()
	v := eolVerdict{label: label}
	if !ok {
		return v, nil
	}
	table, source := eolTable[product], "the embedded end-of-life table"
	override, err := loadEOL(dir, product)
	if err != nil {
		return v, err
	}
	if override != nil {
		table, source = override, filepath.Join(dir, "eol", product+".json")
	}
	date, found := table[cycle]
	v.source = source
	if !found {
		return v, nil
	}
	v.known, v.date = true, date
	if date == "" {
		return v, nil
	}
	end, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return v, fmt.Errorf("%s: %s: %q is not a date", source, label, date)
	}
	// The EOL date is the last day of support: ended from the day after.
	v.ended = now.UTC().After(end.Add(24*time.Hour - time.Nanosecond))
	return v, nil
}

// checkOSEOL finds the image's OS release and judges it against the
// end-of-life table: past its end, an image-os-eol finding and a note that
// its package advisories are incomplete. No os-release (scratch,
// distroless static) is a note, never a finding.
func (s *Scanner) checkOSEOL(t target, facts *fsFacts, add func(check, title, fix, path string), notes *[]string) error {
	file, data := "/etc/os-release", facts.osRelease["etc/os-release"]
	if data == nil {
		file, data = "/usr/lib/os-release", facts.osRelease["usr/lib/os-release"]
	}
	if data == nil {
		*notes = append(*notes, fmt.Sprintf("%s: no /etc/os-release or /usr/lib/os-release: the OS release (and its end of life) is not known", t.name()))
		return nil
	}
	now := s.opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := parseOSRelease(data)
	v, err := checkEOL(r, s.opts.EOLDir, now)
	switch {
	case err != nil:
		return err
	case !v.known && v.source == "":
		*notes = append(*notes, fmt.Sprintf("%s: OS %q (%s) is not in the end-of-life table (ID and VERSION_ID read): its end of life is not checked", t.name(), v.label, file))
	case !v.known:
		*notes = append(*notes, fmt.Sprintf("%s: OS %s is not in %s: its end of life is not checked", t.name(), v.label, v.source))
	case v.ended:
		add(CheckOSEOL, fmt.Sprintf("the image's OS, %s, reached its end of life on %s: no security updates since", v.label, eolDate(v.date)),
			"rebuild the image on a supported release of the OS (a newer base image tag)", file)
		*notes = append(*notes, fmt.Sprintf("%s: %s is past its end of life (%s, by %s): its package advisories are incomplete, so no vulnerability found in its packages does not mean none exist", t.name(), v.label, eolDate(v.date), v.source))
	}
	return nil
}

func eolDate(d string) string {
	if d == "1970-01-01" {
		return "a date not given"
	}
	return d
}

// EOLProducts are the endoflife.date products of the table, which
// --download-db fetches into DIR/eol.
func EOLProducts() []string {
	out := make([]string, 0, len(eolTable))
	for p := range eolTable {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
