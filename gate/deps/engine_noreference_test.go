//go:build !osvscanner

package deps

import "testing"

// The reference engine (osv-scanner v2.5.0's scanner, engine_osvscanner_test.go)
// is built only with -tags osvscanner: it links about 300 packages of
// osv-scanner and its plugin registries that the rest of the tests do not
// need, and a cold .ci/run compiled them for vet, staticcheck and the race
// run. .ci/run runs the tests that compare with it (TestEngines…,
// TestImageMetadataAgree, TestRealImagesAgree, TestImageFSAgreesWithLayerscanning)
// in a step of their own with the tag.

// referenceEngine skips the test: this build has no reference engine.
func referenceEngine(t testing.TB) engine {
	t.Helper()
	t.Skip("the reference engine (osv-scanner) is built with -tags osvscanner (.ci/run's differential step)")
	return nil
}

// haveReference: the reference engine is in this build.
const haveReference = false
