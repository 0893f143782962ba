//go:build !linux

package testutil

import "testing"

// SmallDisk skips the test: mounting a small disk is written for Linux.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	t.Skip("a small disk (tmpfs) is mounted on Linux only")
	return ""
}

// FillDisk is not reached: SmallDisk skipped the test.
func FillDisk(t testing.TB, dir string) (free func()) {
	t.Helper()
	t.Skip("a small disk (tmpfs) is mounted on Linux only")
	return func() {}
}

// Ext4 is a small ext4 file system of a test's own, on Linux.
type Ext4 struct{ Dir string }

// Ext4Disk skips the test: the small ext4 disk is written for Linux.
func Ext4Disk(t testing.TB, size int64) *Ext4 {
	t.Helper()
	t.Skip("a small ext4 disk is mounted on Linux only")
	return nil
}

// FailReadOnly is not reached: Ext4Disk skipped the test.
func (d *Ext4) FailReadOnly(t testing.TB) {}

// Repair is not reached: Ext4Disk skipped the test.
func (d *Ext4) Repair(t testing.TB) {}
