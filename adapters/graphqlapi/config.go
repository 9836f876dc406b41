package graphqlapi

import (
	"context"

	"github.com/oncallhq/goalert/domain/config"
)

// ConfigStore is the admin config as this server sees it.
type ConfigStore interface {
	// Current returns every value, secrets decrypted.
	Current() config.Values
	// Set stores values by id, all or nothing (see commands.SetConfig).
	Set(ctx context.Context, values map[string]string) error
	// ReEncrypt seals every secret again with the current data encryption
	// key (see commands.ReEncryptSecrets).
	ReEncrypt(ctx context.Context) error
}

// Config lists config values: with all, every one (admins only);
// otherwise the public ones the UI needs, to anyone signed in. Secrets
// are never shown: a set one reads as config.Mask, an unset one as "".
func (r *resolver) Config(ctx context.Context, args struct{ All *bool }) ([]configValue, error) {
	all := args.All != nil && *args.All
	if all {
		if err := requireAdmin(ctx); err != nil {
			return nil, err
		}
	}
	vals := r.d.Config.Current()
	var out []configValue
	for _, f := range config.Fields() {
		if !all && !f.Public {
			continue
		}
		out = append(out, configValue{id: f.ID, desc: f.Description, value: f.Display(vals[f.ID]), typ: string(f.Type), password: f.Password})
	}
	return out, nil
}

// SetConfig stores config values (admins only), all or nothing. A secret
// set to config.Mask, as config shows it, stays as it is.
func (r *resolver) SetConfig(ctx context.Context, args struct {
	Input *[]struct{ ID, Value string }
}) (bool, error) {
	if err := requireAdmin(ctx); err != nil {
		return false, err
	}
	if args.Input == nil {
		return true, nil
	}
	values := map[string]string{}
	for _, v := range *args.Input {
		values[v.ID] = v.Value
	}
	if err := r.d.Config.Set(ctx, values); err != nil {
		return false, err
	}
	return true, nil
}

// ReEncryptKeyringsAndConfig seals every stored secret (admin config
// secrets, session signing keys) again with the current data encryption
// key, so that --data-encryption-key-old can be retired. Admins only.
func (r *resolver) ReEncryptKeyringsAndConfig(ctx context.Context) (bool, error) {
	if err := requireAdmin(ctx); err != nil {
		return false, err
	}
	if err := r.d.Config.ReEncrypt(ctx); err != nil {
		return false, err
	}
	return true, nil
}
