package repo

import (
	"crypto"
	"crypto/sha1"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/hash"
	"github.com/pjbgf/sha1cd"
)

// go-git hashes with SHA-1 from the standard library, not its default
// sha1cd (SHA-1 with collision detection, about 3x the cost: 12% of a
// history scan's reading, where go-git hashes every object it resolves
// from a delta to key its cache). We only read repositories, and their
// objects were hashed with git's own collision detection when the
// checkout fetched them; a pack holds one object per id. The ids we
// compute from files to trust them (BlobID: the scan cache, the files a
// change modifies) keep collision detection.
func init() {
	if err := hash.RegisterHash(crypto.SHA1, sha1.New); err != nil {
		panic(err)
	}
}

// BlobID is git's blob id of size bytes read from r, computed with SHA-1
// collision detection: content crafted to collide with another file's id
// does not get that id (it gets sha1cd's safe hash).
func BlobID(r io.Reader, size int64) (plumbing.Hash, error) {
	h := sha1cd.New()
	fmt.Fprintf(h, "%s %d\x00", plumbing.BlobObject, size)
	// (a file that changes while it is read gets an id no blob has)
	if _, err := io.Copy(h, r); err != nil {
		return plumbing.Hash{}, err
	}
	var id plumbing.Hash
	copy(id[:], h.Sum(nil))
	return id, nil
}
