package deps

import (
	"os"
	"testing"
)

// SECGATE_TEST_DEPS_ENGINE=scalibr runs every test of the package on the
// osv-scalibr engine instead of the default one: the whole suite is then a
// differential test of the two, beside TestEnginesAgree.
func TestMain(m *testing.M) {
	switch os.Getenv("SECGATE_TEST_DEPS_ENGINE") {
	case "scalibr":
		defaultEngine = scalibrEngine{}
	case "osv-scanner":
		defaultEngine = osvScannerEngine{}
	}
	os.Exit(m.Run())
}
