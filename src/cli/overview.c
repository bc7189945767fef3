/* overview.c - the server overview shared by `ds01 status` and `ds01 top`
 * (stub; issue 8). */
#include "cli/cli.h"
