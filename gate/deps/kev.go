package deps

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/secgate/secgate/policy"
)

// KEVFile is where CISA's Known Exploited Vulnerabilities catalog sits in
// an offline database directory: the JSON feed, unchanged.
const KEVFile = "kev/known_exploited_vulnerabilities.json"

// DefaultKEVURL is CISA's JSON feed of the catalog.
const DefaultKEVURL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

// kevCatalog is the catalog as read: its release date and its entries by CVE.
type kevCatalog struct {
	version  string
	released time.Time
	entries  map[string]policy.KEV
}

// kevFeed is the part of CISA's feed secgate reads. The feed carries more
// (title, vendorProject, product, shortDescription, requiredAction,
// dueDate, notes, cwes…): unknown fields are ignored, so a feed that grows
// keeps parsing.
type kevFeed struct {
	CatalogVersion  string `json:"catalogVersion"`
	DateReleased    string `json:"dateReleased"`
	Count           int    `json:"count"`
	Vulnerabilities []struct {
		CVE        string `json:"cveID"`
		DateAdded  string `json:"dateAdded"`
		Ransomware string `json:"knownRansomwareCampaignUse"`
	} `json:"vulnerabilities"`
}

// loadKEV reads the catalog at path.
func loadKEV(path string) (*kevCatalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var feed kevFeed
	if err := json.NewDecoder(f).Decode(&feed); err != nil {
		return nil, fmt.Errorf("KEV catalog %s: not CISA's JSON feed: %w", path, err)
	}
	released, err := parseFeedDate(feed.DateReleased)
	if err != nil {
		return nil, fmt.Errorf("KEV catalog %s: dateReleased: %w", path, err)
	}
	if len(feed.Vulnerabilities) == 0 {
		return nil, fmt.Errorf("KEV catalog %s lists no vulnerability (a failed download?)", path)
	}
	if feed.Count != 0 && feed.Count != len(feed.Vulnerabilities) {
		return nil, fmt.Errorf("KEV catalog %s: count says %d entries, it lists %d (a truncated file?)", path, feed.Count, len(feed.Vulnerabilities))
	}
	c := &kevCatalog{version: feed.CatalogVersion, released: released, entries: make(map[string]policy.KEV, len(feed.Vulnerabilities))}
	for i, v := range feed.Vulnerabilities {
		id := strings.ToUpper(strings.TrimSpace(v.CVE))
		if !strings.HasPrefix(id, "CVE-") {
			return nil, fmt.Errorf("KEV catalog %s: entry %d has cveID %q, not a CVE id", path, i, v.CVE)
		}
		// Only what is checked reaches a report: a date, and a yes/no.
		added := ""
		if d, err := time.Parse(time.DateOnly, strings.TrimSpace(v.DateAdded)); err == nil {
			added = d.Format(time.DateOnly)
		}
		c.entries[id] = policy.KEV{CVE: id, DateAdded: added, Ransomware: strings.EqualFold(strings.TrimSpace(v.Ransomware), "Known")}
	}
	return c, nil
}

// parseFeedDate reads the dates of the feeds: RFC 3339 with or without
// fractional seconds (KEV's "2024-05-01T15:00:00.0000Z"), EPSS's
// "2024-05-01T00:00:00+0000", or a bare date.
func parseFeedDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.999999999-0700", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}
