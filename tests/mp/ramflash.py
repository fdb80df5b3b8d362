# A RAM block device for littlefs (os.VfsLfs2) on the MicroPython unix port, counting the
# erases and writes it is asked for: how flash work is measured off the ball.
import os


class RamFlash:
    def __init__(self, blocks, size=4096):
        self.size = size
        self.data = bytearray(blocks * size)
        self.erases = 0
        self.writes = 0

    def readblocks(self, n, buf, off=0):
        start = n * self.size + off
        buf[:] = memoryview(self.data)[start : start + len(buf)]

    def writeblocks(self, n, buf, off=0):
        start = n * self.size + off
        self.data[start : start + len(buf)] = buf
        self.writes += 1

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        if op == 6:
            self.erases += 1
            return 0
        return None


def mount(blocks, size=4096, where="/flash"):
    """A freshly formatted littlefs of blocks x size bytes at `where`; returns the device."""
    bdev = RamFlash(blocks, size)
    os.VfsLfs2.mkfs(bdev)
    os.mount(os.VfsLfs2(bdev), where)
    return bdev
