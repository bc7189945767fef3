/* overview.h - the server overview shared by `ds01 status` and `ds01 top`
 * (stub; issue 8). */
#pragma once
