/* api/h_notifications: the caller's notifications and notification preferences
 * (notifications[?unread=1], notifications/{id}/read, notifications/read-all,
 * notifications/preferences GET and PUT). Every route is scoped by the caller's user id in the
 * store, so another user's notification is 404 exactly like an absent one. Types and channels:
 * api/notify.h. */
#ifndef ATP_API_H_NOTIFICATIONS_H
#define ATP_API_H_NOTIFICATIONS_H

#include "api/router.h"

extern const struct api_field h_notifications_prefs_body[];

void h_notifications_list(struct api_request *req, struct api_response *res);
void h_notifications_read(struct api_request *req, struct api_response *res);
void h_notifications_read_all(struct api_request *req, struct api_response *res);
void h_notifications_prefs_get(struct api_request *req, struct api_response *res);
void h_notifications_prefs_put(struct api_request *req, struct api_response *res);

#endif
