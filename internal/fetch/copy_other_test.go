//go:build !linux

package fetch

func kernelChunkForTest() int { return 4 << 20 }
