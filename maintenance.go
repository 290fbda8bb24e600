package latch

import (
	"context"
	"time"
)

// MaintenanceConfig sets the intervals of RunMaintenance.
type MaintenanceConfig struct {
	// KeyReload is how often the signing keys are re-read, so a rotation
	// made by `latch keys rotate` or another node is used for signing, and
	// a superseded key is retired once its tokens have expired. Default
	// 30s; at most KeyPropagation.
	KeyReload time.Duration
	// PruneLimits is how often exhausted limit counters are deleted.
	// Default 10 minutes.
	PruneLimits time.Duration
}

// RunMaintenance runs the service's periodic chores until ctx ends: key
// reloads and limit pruning. Failures are logged and retried at the next
// tick; they never stop the loop. serve runs it for the life of the server.
func (s *Service) RunMaintenance(ctx context.Context, cfg MaintenanceConfig) {
	reload := min(cmpOr(cfg.KeyReload, 30*time.Second), KeyPropagation)
	prune := cmpOr(cfg.PruneLimits, 10*time.Minute)
	keys := time.NewTicker(reload)
	defer keys.Stop()
	limits := time.NewTicker(prune)
	defer limits.Stop()
	signer := s.keys.Load().SignerAt(s.now()).ID
	for {
		select {
		case <-ctx.Done():
			return
		case <-keys.C:
			if err := s.ReloadKeys(ctx); err != nil {
				s.logger().Warn("reload signing keys", "err", err)
			}
			// A pending key starts signing on its own, between reloads.
			if cur := s.keys.Load().SignerAt(s.now()).ID; cur != signer {
				s.logger().Info("signing with a new key", "kid", cur, "previous", signer)
				signer = cur
			}
		case <-limits.C:
			if n, err := s.PruneLimits(ctx); err != nil {
				s.logger().Warn("prune limit counters", "err", err)
			} else if n > 0 {
				s.logger().Debug("pruned limit counters", "count", n)
			}
		}
	}
}
