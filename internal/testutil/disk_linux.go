package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size bytes on a new directory and returns the directory; it is
// unmounted when the test ends, after the cleanups registered later (a worker's stop). The test
// is skipped, saying why, when it does not run as root or the mount fails: mounting needs
// CAP_SYS_ADMIN.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small disk (tmpfs) needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV,
		fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("mount a %d-byte tmpfs on %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount the small disk %s: %v", dir, err)
		}
	})
	return dir
}

// FillDisk writes a file in dir until the file system it is on has no byte left, and returns a
// function that removes the file again.
func FillDisk(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for len(buf) > 0 {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			buf = buf[:len(buf)/2] // the last pages, to the byte
		}
	}
	return func() {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatalf("free the disk %s: %v", dir, err)
		}
	}
}

// Ext4 is a small ext4 file system of a test's own (an image on a loop device), mounted with
// errors=remount-ro, so that the kernel can turn it read-only under a running process as it does
// after an I/O error: a tmpfs cannot be remounted read-only while a process has files open for
// writing on it (EBUSY), and webhookd always has.
type Ext4 struct {
	Dir     string // where it is mounted
	dev     string // its loop device
	mounted bool
}

// Ext4Disk makes and mounts an Ext4 of size bytes. The test is skipped, saying why, when it does
// not run as root or a tool (losetup, mkfs.ext4, e2fsck) or loop devices are missing. It is
// unmounted and its loop device detached when the test ends, after the cleanups registered later.
func Ext4Disk(t testing.TB, size int64) *Ext4 {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small disk (ext4 on a loop device) needs root")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "e2fsck"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("mounting a small ext4 disk needs %s: %v", tool, err)
		}
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 %s: %v: %s", img, err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device for an ext4 disk: losetup: %v: %s", err, out)
	}
	d := &Ext4{Dir: t.TempDir(), dev: strings.TrimSpace(string(out))}
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", d.dev).CombinedOutput(); err != nil {
			t.Errorf("detach %s: %v: %s", d.dev, err, out)
		}
	})
	if err := d.mount(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() {
		if d.mounted {
			if err := syscall.Unmount(d.Dir, 0); err != nil {
				t.Errorf("unmount the ext4 disk %s: %v", d.Dir, err)
			}
		}
	})
	return d
}

func (d *Ext4) mount() error {
	if err := syscall.Mount(d.dev, d.Dir, "ext4", syscall.MS_NOSUID|syscall.MS_NODEV, "errors=remount-ro"); err != nil {
		return fmt.Errorf("mount %s (ext4) on %s: %w", d.dev, d.Dir, err)
	}
	d.mounted = true
	return nil
}

// FailReadOnly has the kernel report an error of the file system (its trigger_fs_error knob),
// and so remount it read-only at once, whatever has files open on it. Only unmounting it mends it
// (Repair). What was written before is synced first: the error aborts the journal, and what it
// had not written yet would be lost as on a power failure, which is another test's matter
// (JetStream and SQLite sync on their own schedules).
func (d *Ext4) FailReadOnly(t testing.TB) {
	t.Helper()
	syscall.Sync()
	knob := filepath.Join("/sys/fs/ext4", filepath.Base(d.dev), "trigger_fs_error")
	if err := os.WriteFile(knob, []byte("test: the disk turns read-only\n"), 0o200); err != nil {
		t.Fatalf("make %s read-only: %v", d.Dir, err)
	}
	if err := os.WriteFile(filepath.Join(d.Dir, "probe"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("a write to %s after its error: %v, want EROFS", d.Dir, err)
	}
}

// Repair unmounts the file system (nothing may have a file open on it), checks it as an operator
// would (e2fsck) and mounts it again, writable.
func (d *Ext4) Repair(t testing.TB) {
	t.Helper()
	if err := syscall.Unmount(d.Dir, 0); err != nil {
		t.Fatalf("unmount %s to repair it: %v", d.Dir, err)
	}
	d.mounted = false
	// Exit status 1: errors were corrected, as they are after FailReadOnly.
	if out, err := exec.Command("e2fsck", "-f", "-y", d.dev).CombinedOutput(); err != nil {
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck %s: %v: %s", d.dev, err, out)
		}
	}
	if err := d.mount(); err != nil {
		t.Fatal(err)
	}
}
