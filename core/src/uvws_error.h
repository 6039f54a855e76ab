/* The thread's last error detail (uvws_last_error()), set where a failure
 * is detected, in any layer. */
#ifndef UVWS_ERROR_H
#define UVWS_ERROR_H

/* Replace the detail; NULL clears it. */
void uvws__set_last_error(const char *msg);

#endif
