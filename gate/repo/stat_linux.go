package repo

import (
	"os"
	"syscall"
	"time"
)

// changeStat is a file's change time, inode and device as git's index
// keeps them (the low 32 bits of the inode and device).
func changeStat(info os.FileInfo) (ctime time.Time, ino, dev uint32, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, 0, 0, false
	}
	return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)), uint32(st.Ino), uint32(st.Dev), true
}
