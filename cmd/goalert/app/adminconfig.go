package app

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/configapi"
	"github.com/oncallhq/goalert/adapters/keyring"
	"github.com/oncallhq/goalert/adapters/mailgun"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/config"
)

// configRefresh is how often an instance rereads the admin config, and so
// how long another instance's change can take to reach it. The read is a
// few dozen rows from one small table.
const configRefresh = 500 * time.Millisecond

// adminConfig keeps this instance's copy of the admin config, so that
// requests (a Mailgun route checking its signature, say) read it from
// memory. A change made here is visible here at once; one made by another
// instance within configRefresh.
type adminConfig struct {
	app  *App
	kr   *keyring.Keyring
	cmds *commands.Handler
	// publicURL is General.PublicURL, which comes from the flag.
	publicURL string

	cur atomic.Pointer[config.Values]
	// mu serializes refreshes, so that a slow read that began before a
	// change can never replace the newer values read after it.
	mu      sync.Mutex
	lastErr string
}

// newAdminConfig reads the config once; an unreadable secret (a wrong
// --data-encryption-key) stops start-up with the keyring's message.
func newAdminConfig(ctx context.Context, a *App, kr *keyring.Keyring) (*adminConfig, error) {
	c := &adminConfig{app: a, kr: kr, cmds: a.Commands, publicURL: strings.TrimSuffix(a.cfg.PublicURL, "/")}
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Current returns the config as last read. Callers must not modify it.
func (c *adminConfig) Current() config.Values { return *c.cur.Load() }

// Set stores an admin's values (see commands.SetConfig) and rereads the
// config, so this instance answers with them at once. Sending back
// General.PublicURL unchanged is allowed, so a client may write back the
// whole config it read.
func (c *adminConfig) Set(ctx context.Context, values map[string]string) error {
	if v, ok := values["General.PublicURL"]; ok && v == c.publicURL {
		values = maps.Clone(values)
		delete(values, "General.PublicURL")
	}
	if _, err := c.cmds.SetConfig(ctx, values, c.seal); err != nil {
		return err
	}
	if err := c.refresh(ctx); err != nil {
		// Stored all the same; the next periodic read picks it up.
		c.app.log.Warn("reread admin config after a change", "err", err)
	}
	return nil
}

// ReEncrypt seals every secret sealed with the old data encryption key (or
// stored unencrypted) again with the current one.
func (c *adminConfig) ReEncrypt(ctx context.Context) error {
	if !c.kr.CanEncrypt() {
		return domain.Invalid("no_encryption_key", "the server has no --data-encryption-key to encrypt with")
	}
	n, err := c.cmds.ReEncryptSecrets(ctx, func(sealed string) (string, bool, error) {
		plain, rotated, err := c.kr.DecryptString(sealed)
		if err != nil || !rotated {
			return sealed, false, err
		}
		v, err := c.kr.EncryptString(plain)
		return v, err == nil, err
	})
	if err != nil {
		return err
	}
	c.app.log.Info("secrets sealed again with the current data encryption key", "count", n)
	return c.refresh(ctx)
}

func (c *adminConfig) seal(secret string) (string, error) { return c.app.seal(c.kr, []byte(secret)) }

func (c *adminConfig) open(sealed string) (string, error) {
	v, _, err := c.kr.DecryptString(sealed)
	return v, err
}

func (c *adminConfig) refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.cmds.Config(ctx, c.open)
	if err != nil {
		return err
	}
	v["General.PublicURL"] = c.publicURL
	c.cur.Store(&v)
	return nil
}

// run rereads the config every configRefresh until ctx ends. A failing
// read keeps the last good values and is logged once, not every tick.
func (c *adminConfig) run(ctx context.Context) {
	t := time.NewTicker(configRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := c.refresh(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != c.lastErr:
			c.lastErr = err.Error()
			c.app.log.Warn("reread admin config; keeping the last values read", "err", err)
		case err == nil && c.lastErr != "":
			c.lastErr = ""
			c.app.log.Info("admin config readable again")
		}
	}
}

// configRoutes registers the admin config API and the endpoints that
// depend on the config (Mailgun); mw authenticates the config API.
func (a *App) configRoutes(e *echo.Echo, mw echo.MiddlewareFunc) {
	configapi.New(a.settings).Register(e, mw)
	mailgun.New(a.Commands, a.settings.Current).Register(e)
}

// AdminConfig returns the admin config as this instance currently sees
// it: General.PublicURL from the flag, secrets decrypted.
func (a *App) AdminConfig() config.Values { return a.settings.Current() }

// ConfigValues returns the admin config as this instance sees it, secrets
// decrypted.
func (a *App) ConfigValues() config.Values { return a.settings.Current() }
