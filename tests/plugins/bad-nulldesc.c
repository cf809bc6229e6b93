/*
 * bad-nulldesc - exports ucd_plugin_entry, but it returns NULL:
 * "not a ucd plugin".
 */
#include <stddef.h>
#include <ucd/plugin.h>

UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);
UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)
{
    return NULL;
}
