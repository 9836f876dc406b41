package commands

import (
	"context"

	"github.com/oncallhq/goalert/domain/user"
)

// UserName returns the name of a live user from its stream (not a read
// model, so it is current the moment the user is created); "" when there is
// no such user.
func (h *Handler) UserName(ctx context.Context, id string) (string, error) {
	var name string
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		u, _, err := loadUser(ctx, tx, id)
		if err == user.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		name = u.Name()
		return nil
	})
	return name, err
}
