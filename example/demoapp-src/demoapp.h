/* demoapp.h: a header shipped in demoapp's .data/headers. */
#define DEMOAPP_VERSION "1.0.0"
