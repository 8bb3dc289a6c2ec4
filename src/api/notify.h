/* api/notify: notification types, channels and per-user preferences, and delivery. One table of
 * types (below, notify.c) is what the preference routes list and validate against.
 *
 * Channels: "in_app" is delivered now (a row in the user's notifications, GET /notifications);
 * "email" and "telegram" preferences are stored and shown, but nothing sends on them yet (a later
 * issue adds the senders). A preference a user never set takes the type's default.
 * Any thread that owns the store connection it passes. */
#ifndef ATP_API_NOTIFY_H
#define ATP_API_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#include <jansson.h>

/* Type names (stable: stored in rows and preferences, used by clients). */
#define NOTIFY_SECURITY_LOCKOUT "security.lockout"
#define NOTIFY_SECURITY_PASSWORD "security.password_changed"
#define NOTIFY_INVITATION_RECEIVED "invitation.received"
#define NOTIFY_INVITATION_ACCEPTED "invitation.accepted"
#define NOTIFY_RISK "risk"
#define NOTIFY_ORDER "order"
#define NOTIFY_STRATEGY "strategy"
#define NOTIFY_SYSTEM "system"

enum notify_channel { NOTIFY_IN_APP = 0, NOTIFY_EMAIL, NOTIFY_TELEGRAM, NOTIFY_N_CHANNELS };

struct notify_type {
    const char *name;
    const char *summary;                      /* for the preferences page */
    unsigned char defaults[NOTIFY_N_CHANNELS]; /* enabled when the user set nothing */
};

extern const struct notify_type notify_types[];
extern const size_t notify_n_types;

/* "in_app", "email", "telegram"; NULL out of range. */
const char *notify_channel_name(int channel);
/* 1 when delivery on the channel exists today (in_app only). */
int notify_channel_delivered(int channel);
/* Index of a type / channel name, -1 when unknown. */
int notify_type_index(const char *name);
int notify_channel_index(const char *name);

/* user_id's effective preferences: enabled[t * NOTIFY_N_CHANNELS + c] for type t of notify_types
 * and channel c, defaults filled in where the user set nothing. enabled holds notify_n_types *
 * NOTIFY_N_CHANNELS entries. ATP_OK or the store's error. */
int notify_prefs_get(struct store *s, int64_t user_id, unsigned char *enabled, struct atp_err *err);

/* The JSON object of a stored notification, as GET /notifications lists it and the WebSocket
 * notifications channel sends it. New reference; NULL when out of memory. */
json_t *notify_json(const struct store_notification *n);

/* Notifies user_id: stores an in-app notification unless the user turned in_app off for type,
 * then publishes it live (api/events: channel "notifications", event "notification", scoped to
 * user_id, data = notify_json) so a connected WebSocket client hears it at once.
 * title is required; body may be NULL; both are truncated to the store's limits. *delivered
 * (optional) tells whether a row was written. ATP_EINVAL for an unknown type; store errors. */
int notify_user_ex(struct store *s, int64_t user_id, const char *type, const char *title, const char *body,
                   int *delivered, struct atp_err *err);
/* The same without the detail: what event sites call (a failed notification never fails the
 * action that caused it; it is logged). */
int notify_user(struct store *s, int64_t user_id, const char *type, const char *title, const char *body);

/* The events other modules raise: one line at the event site. */
/* The account of user_id locked after failed logins, until locked_until_ns. */
void notify_lockout(struct store *s, int64_t user_id, int64_t locked_until_ns);
/* user_id's password changed (other sessions were revoked). */
void notify_password_changed(struct store *s, int64_t user_id);

#endif
