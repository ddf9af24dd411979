package storagetest

import (
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

func TestMemStorageConformance(t *testing.T) {
	Run(t, func(*testing.T) (storage.Appendable, storage.Queryable) {
		s := NewMemStorage()
		return s, s
	})
}
