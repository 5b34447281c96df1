package deps

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// scanActions is what one call of the scanning library is asked to do: the
// fields secgate sets, named as osv-scanner's ScannerActions names them so
// that both engines read the same request.
type scanActions struct {
	DirectoryPaths  []string // scanned recursively
	LockfilePaths   []string // files scanned as given (staged copies, --lockfile)
	ExcludePatterns []string // r:regexes against the path without its leading slash

	// Offline: the zips under LocalDBPath/osv-scalibr/<Ecosystem>/all.zip,
	// downloaded first with DownloadDatabases. Otherwise the OSV API.
	CompareOffline    bool
	DownloadDatabases bool
	LocalDBPath       string

	HTTPClient       *http.Client
	RequestUserAgent string

	Image     string // a docker-archive file, for scanImage
	ScratchIn string // where the image's contents go when TMPDIR is not writable
}

// errNoPackagesFound: the library found no package at all.
var errNoPackagesFound = errors.New("no packages found in scan")

// engine is the library that extracts packages and matches them against
// OSV data: scalibrEngine, osv-scalibr's extractors and matchers driven
// directly. Until issue 30 it was osv-scanner v2.5.0's top-level package,
// which registers every osv-scalibr plugin (~600 packages the gate never
// runs); that engine is kept in the tests as the reference
// (osvScannerEngine), and TestEnginesAgree shows both give the same results.
type engine interface {
	// scan reads DirectoryPaths and LockfilePaths. A file of
	// LockfilePaths that does not parse fails the whole call with an
	// error containing specifiedLockfileFailed; other files that do not
	// parse are logged ("Error during extraction: ...").
	scan(ctx context.Context, actions scanActions) (vulnResults, error)
	// scanImage reads the OS and language packages of actions.Image.
	scanImage(ctx context.Context, actions scanActions) (vulnResults, error)
	// match matches packages given by ecosystem, name and version (no
	// lockfile), each reported in one PackageSource.
	match(ctx context.Context, actions scanActions, pkgs []packageInfo, scratchIn string) (vulnResults, error)
	// setLogger routes the library's process-global loggers.
	setLogger(h slog.Handler)
}

// defaultEngine is the engine scans use.
var defaultEngine engine = scalibrEngine{}
