package worker_test

import (
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/worker"
)

// TestDiskFullHoldsWorkAndSaysSoOnce: standalone, its whole data directory (the SQLite store and
// the embedded JetStream's files) on a small disk that fills up mid-stream. The store's writes
// fail (SQLITE_FULL) and so do JetStream's (ENOSPC: nats-server keeps the stream's write error
// and refuses every later message, even once there is room): deliveries are held, events wait
// with their publisher, /readyz says both, the log says each once. Once the disk has room again
// the store takes the held writes and webhookd restarts JetStream, and everything is delivered
// and stored once.
func TestDiskFullHoldsWorkAndSaysSoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a disk and waits for the recovery")
	}
	dir := testutil.SmallDisk(t, 64<<20)
	var free func()
	workertest.OutageKeepsPromises(t, workertest.Outage{
		Begin:     func(*workertest.Env) { free = testutil.FillDisk(t, dir) },
		End:       func(*workertest.Env) { free() },
		For:       5 * time.Second,
		JetStream: true,
	}, func(o *worker.Options) { o.DataDir = dir })
}

// TestReadOnlyDiskHoldsWorkAndSaysSoOnce: standalone, its data directory on a disk the kernel
// remounts read-only mid-stream (as ext4 does after an I/O error; see testutil.Ext4). The store
// and JetStream refuse writes (EROFS): deliveries are held, events wait with their publisher,
// /readyz says both, the log says each once. Such a disk comes back only unmounted and checked,
// so webhookd is stopped (handing back what it holds), the disk repaired, and webhookd started
// again: everything is delivered and stored once, a held delivery attempted twice at most.
func TestReadOnlyDiskHoldsWorkAndSaysSoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("turns a disk read-only and repairs it")
	}
	disk := testutil.Ext4Disk(t, 64<<20)
	workertest.OutageKeepsPromises(t, workertest.Outage{
		Begin: func(*workertest.Env) { disk.FailReadOnly(t) },
		End: func(e *workertest.Env) {
			e.Stop()
			e.CloseStore()
			disk.Repair(t)
			e.Start()
			e.OpenStore()
		},
		For:       5 * time.Second,
		Restart:   true,
		JetStream: true,
	}, func(o *worker.Options) { o.DataDir = disk.Dir })
}
