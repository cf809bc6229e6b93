/*
 * contact-copy.c - one source's contacts in memory (contact-copy.h).
 *
 * Offset 0 of the arena is a NUL byte that no field uses, so a zero offset
 * can mean "no such field" and every other offset points at a string.
 */
#include "contact-copy.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1 */
#endif
#define HUGE_PAGE (2u << 20)

contact_copy *contact_copy_new(const char *source, int32_t priority)
{
    contact_copy *copy = g_new0(contact_copy, 1);
    copy->refs = 1;
    copy->source = g_strdup(source);
    copy->priority = priority;
    copy->contacts = g_array_new(FALSE, FALSE, sizeof(copy_contact));
    copy->numbers = g_array_new(FALSE, FALSE, sizeof(copy_number));
    copy->arena = g_byte_array_sized_new(4096);
    g_byte_array_append(copy->arena, (const guint8 *)"", 1);
    return copy;
}

contact_copy *contact_copy_ref(contact_copy *copy)
{
    g_atomic_int_inc(&copy->refs);
    return copy;
}

void contact_copy_unref(contact_copy *copy)
{
    if (copy == NULL || !g_atomic_int_dec_and_test(&copy->refs))
        return;
    g_array_free(copy->contacts, TRUE);
    g_array_free(copy->numbers, TRUE);
    g_byte_array_free(copy->arena, TRUE);
    g_free(copy->source);
    g_free(copy);
}

static uint32_t arena_add(contact_copy *copy, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return 0;
    uint32_t at = copy->arena->len;
    g_byte_array_append(copy->arena, (const guint8 *)text, (guint)strlen(text) + 1);
    return at;
}

uint32_t contact_copy_add(contact_copy *copy, const char *const *fields)
{
    copy_contact c = {.first_number = copy->numbers->len};
    for (int f = 0; f < CONTACT_FIELDS; f++)
        c.field[f] = arena_add(copy, fields[f]);
    g_array_append_val(copy->contacts, c);
    return copy->contacts->len - 1;
}

void contact_copy_add_number(contact_copy *copy, const char *raw, uint32_t kind, uint64_t e164,
                             const char *display_digits, gboolean switchboard)
{
    copy_number n = {.e164 = e164,
                     .raw = arena_add(copy, raw),
                     .display = arena_add(copy, display_digits),
                     .kind = (uint8_t)kind,
                     .switchboard = switchboard ? 1 : 0};
    g_array_append_val(copy->numbers, n);
    g_array_index(copy->contacts, copy_contact, copy->contacts->len - 1).n_numbers++;
}

void contact_copy_render(const contact_copy *copy, uint32_t index, ucd_contact *out,
                         ucd_contact_number *numbers)
{
    const copy_contact *c = &g_array_index(copy->contacts, copy_contact, index);
    const char *f[CONTACT_FIELDS];
    for (int i = 0; i < CONTACT_FIELDS; i++)
        f[i] = c->field[i] == 0 ? NULL : (const char *)copy->arena->data + c->field[i];
    uint32_t n = MIN(c->n_numbers, CONTACT_COPY_MAX_NUMBERS);
    for (uint32_t i = 0; i < n; i++) {
        const copy_number *num = contact_copy_number(copy, c->first_number + i);
        numbers[i] = (ucd_contact_number){.struct_size = sizeof numbers[i],
                                          .kind = num->kind,
                                          .raw = contact_copy_text(copy, num->raw)};
    }
    *out = (ucd_contact){.struct_size = sizeof *out,
                         .n_numbers = n,
                         .source_id = f[CONTACT_FIELD_SOURCE_ID],
                         .display_name = f[CONTACT_FIELD_DISPLAY_NAME],
                         .given_name = f[CONTACT_FIELD_GIVEN_NAME],
                         .surname = f[CONTACT_FIELD_SURNAME],
                         .company = f[CONTACT_FIELD_COMPANY],
                         .department = f[CONTACT_FIELD_DEPARTMENT],
                         .email = f[CONTACT_FIELD_EMAIL],
                         .address = f[CONTACT_FIELD_ADDRESS],
                         .crm_link = f[CONTACT_FIELD_CRM_LINK],
                         .numbers = numbers};
}

void contact_e164_text(uint64_t digits, char *buf, size_t size)
{
    snprintf(buf, size, "+%" PRIu64, digits);
}

uint64_t contact_e164_digits(const char *e164)
{
    if (e164 == NULL || e164[0] != '+' || e164[1] < '1' || e164[1] > '9')
        return 0;
    uint64_t v = 0;
    int n = 0;
    for (const char *p = e164 + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || ++n > 18)
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

size_t contact_copy_bytes(const contact_copy *copy)
{
    return sizeof *copy + copy->contacts->len * sizeof(copy_contact) +
           copy->numbers->len * sizeof(copy_number) + copy->arena->len;
}

void contact_prefer_huge_pages(void *data, size_t size)
{
#ifdef MADV_HUGEPAGE
    uintptr_t start = ((uintptr_t)data + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)data + size) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (data == NULL || end <= start)
        return;
    /* MADV_HUGEPAGE for what is faulted in later, MADV_COLLAPSE for what
     * is there now (without it, khugepaged would take minutes). */
    madvise((void *)start, end - start, MADV_HUGEPAGE);
    madvise((void *)start, end - start, MADV_COLLAPSE);
#else
    (void)data;
    (void)size;
#endif
}

void contact_copy_settle(contact_copy *copy)
{
    contact_prefer_huge_pages(copy->arena->data, copy->arena->len);
    contact_prefer_huge_pages(copy->contacts->data, copy->contacts->len * sizeof(copy_contact));
    contact_prefer_huge_pages(copy->numbers->data, copy->numbers->len * sizeof(copy_number));
}
