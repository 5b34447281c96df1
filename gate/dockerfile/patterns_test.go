package dockerfile

import (
	"testing"

	"github.com/secgate/secgate/internal/lazyre"
)

// The checks' patterns are compiled on first use (lazyre): an invalid one
// would panic in a scan, not at start-up. Each is compiled here; writing
// one of them as `(` fails this test.
func TestPatternsCompile(t *testing.T) {
	for _, r := range []*lazyre.Regexp{
		argRef, toolBases, toolInstall, aptInstall, aptClean, apkAdd, pipInstall,
		yumInstall, yumClean, cacheMount, curlPipe, chmod777, sudoInstall, noPasswd,
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: %v", r, p)
				}
			}()
			r.Regexp()
		}()
	}
}
