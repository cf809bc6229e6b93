/*
 * phonenumber-shim.cc - the plugin's one C++ file: libphonenumber's
 * PhoneNumberUtil (parse, validity, type, formats) and
 * PhoneNumberOfflineGeocoder (places) behind phonenumber-shim.h.
 *
 * No exception leaves this file: libphonenumber reports errors by return
 * value, and an allocation failure (std::bad_alloc) is caught at the C
 * boundary and reported as UCD_E_INVALID, which leaves the core's forms.
 */
#include "phonenumber-shim.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberOfflineGeocoder;
using i18n::phonenumbers::PhoneNumberUtil;

struct phonenumber_shim {
    /* PhoneNumberUtil::GetInstance() is documented thread-safe, and its
     * const methods only read the metadata, so every thread uses the one
     * singleton without a lock. PhoneNumberOfflineGeocoder is not documented
     * thread-safe: it loads each country's area table into a std::map on
     * first use. One geocoder per shim, guarded by `geocoder_lock`; places
     * are looked up once per call of a new number, so the lock is not a
     * bottleneck worth a geocoder per thread (each would hold its own
     * tables). */
    std::unique_ptr<PhoneNumberOfflineGeocoder> geocoder;
    std::mutex geocoder_lock;
    icu::Locale locale;
};

/* The field and everything before it lies within the caller's struct. */
#define HAS_FIELD(info, field)                                                                     \
    ((info)->struct_size >= offsetof(ucd_number_info, field) + sizeof((info)->field))

static void copy_field(char *dest, size_t size, const std::string &src)
{
    size_t n = src.size() < size - 1 ? src.size() : size - 1;

    memcpy(dest, src.data(), n);
    dest[n] = '\0';
}

static bool language_ok(const char *language)
{
    size_t n = strlen(language);

    if (n < 2 || n > 3)
        return false;
    for (size_t i = 0; i < n; i++)
        if (language[i] < 'a' || language[i] > 'z')
            return false;
    return true;
}

extern "C" phonenumber_shim *phonenumber_shim_new(const char *language)
{
    if (language && !language_ok(language))
        return nullptr;
    try {
        std::unique_ptr<phonenumber_shim> shim(new phonenumber_shim);
        if (language) {
            shim->locale = icu::Locale(language);
            shim->geocoder.reset(new PhoneNumberOfflineGeocoder());
        }
        PhoneNumberUtil::GetInstance(); /* metadata loaded here, not in the first call */
        return shim.release();
    } catch (const std::exception &) {
        return nullptr;
    }
}

extern "C" void phonenumber_shim_free(phonenumber_shim *shim)
{
    delete shim;
}

static uint32_t type_of(PhoneNumberUtil::PhoneNumberType type)
{
    switch (type) {
    case PhoneNumberUtil::FIXED_LINE:
        return UCD_NUMBER_TYPE_FIXED_LINE;
    case PhoneNumberUtil::MOBILE:
        return UCD_NUMBER_TYPE_MOBILE;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
        return UCD_NUMBER_TYPE_FIXED_LINE_OR_MOBILE;
    case PhoneNumberUtil::TOLL_FREE:
        return UCD_NUMBER_TYPE_TOLL_FREE;
    case PhoneNumberUtil::PREMIUM_RATE:
        return UCD_NUMBER_TYPE_PREMIUM_RATE;
    case PhoneNumberUtil::SHARED_COST:
        return UCD_NUMBER_TYPE_SHARED_COST;
    case PhoneNumberUtil::VOIP:
        return UCD_NUMBER_TYPE_VOIP;
    case PhoneNumberUtil::PERSONAL_NUMBER:
        return UCD_NUMBER_TYPE_PERSONAL;
    case PhoneNumberUtil::PAGER:
        return UCD_NUMBER_TYPE_PAGER;
    case PhoneNumberUtil::UAN:
        return UCD_NUMBER_TYPE_UAN;
    case PhoneNumberUtil::VOICEMAIL:
        return UCD_NUMBER_TYPE_VOICEMAIL;
    default:
        return UCD_NUMBER_TYPE_UNKNOWN;
    }
}

/* The super-canonical form, "+49 (30) 1234567", from the international
 * format already made: its second group of digits is the national
 * destination code (the area code, or a mobile network's code), as
 * PhoneNumberUtil::GetLengthOfNationalDestinationCode() finds it, which
 * would format the number a second time (its one exception, Argentina's
 * mobile token 9, is not followed here). "+CC NSN" with fewer than three
 * groups. */
static std::string canonical_of(const PhoneNumber &number, const std::string &nsn,
                                const std::string &international)
{
    std::string out = "+" + std::to_string(number.country_code()) + " ";
    size_t ndc_len = 0, groups = 0;
    bool in_digits = false;

    for (char c : international) {
        bool digit = c >= '0' && c <= '9';
        if (digit && !in_digits)
            groups++;
        if (digit && groups == 2)
            ndc_len++;
        in_digits = digit;
    }
    if (groups >= 3 && ndc_len > 0 && ndc_len < nsn.size())
        return out + "(" + nsn.substr(0, ndc_len) + ") " + nsn.substr(ndc_len);
    return out + nsn;
}

/* Thread-safe: only the geocoder needs the lock (see phonenumber_shim). */
static std::string place_of(phonenumber_shim *shim, const PhoneNumber &number)
{
    if (!shim->geocoder)
        return std::string();
    std::lock_guard<std::mutex> hold(shim->geocoder_lock);
    return shim->geocoder->GetDescriptionForValidNumber(number, shim->locale);
}

static int describe(phonenumber_shim *shim, const char *country_code, ucd_number_info *info)
{
    const PhoneNumberUtil &util = *PhoneNumberUtil::GetInstance();
    int home_code = country_code && *country_code ? atoi(country_code) : 0;
    std::string home_region = "ZZ";
    PhoneNumber number;

    if (home_code > 0)
        util.GetRegionCodeForCountryCode(home_code, &home_region);
    if (util.Parse(info->e164, home_region, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
        return UCD_E_INVALID;
    /* GetNumberType() finds the region and matches the type patterns,
     * which is all IsValidNumber() does: a number is valid exactly when it
     * has a type, so neither is asked twice. */
    PhoneNumberUtil::PhoneNumberType type = util.GetNumberType(number);
    bool valid = type != PhoneNumberUtil::UNKNOWN;
    std::string region;
    if (HAS_FIELD(info, region)) {
        util.GetRegionCodeForNumber(number, &region); /* "ZZ" for an invalid number */
        if (region == "ZZ" || region.empty())
            util.GetRegionCodeForCountryCode(number.country_code(), &region);
        copy_field(info->region, sizeof info->region, region == "ZZ" ? std::string() : region);
    }
    if (HAS_FIELD(info, validity)) {
        info->validity = valid ? (uint32_t)UCD_NUMBER_VALID : (uint32_t)UCD_NUMBER_INVALID;
        info->type = valid ? type_of(type) : (uint32_t)UCD_NUMBER_TYPE_UNKNOWN;
    }
    if (!valid)
        return UCD_OK; /* the core's forms stand: libphonenumber's guess is no better */

    std::string international, national, nsn;
    util.Format(number, PhoneNumberUtil::INTERNATIONAL, &international);
    util.Format(number, PhoneNumberUtil::NATIONAL, &national);
    util.GetNationalSignificantNumber(number, &nsn);
    copy_field(info->canonical, sizeof info->canonical, canonical_of(number, nsn, international));
    copy_field(info->display, sizeof info->display,
               (int)number.country_code() == home_code ? national : international);
    if (HAS_FIELD(info, international))
        copy_field(info->international, sizeof info->international, international);
    if (HAS_FIELD(info, national))
        copy_field(info->national, sizeof info->national, national);
    if (HAS_FIELD(info, place))
        copy_field(info->place, sizeof info->place, place_of(shim, number));
    return UCD_OK;
}

extern "C" int phonenumber_shim_describe(void *shim, const char *country_code,
                                         ucd_number_info *info)
{
    if (!shim || !info || !HAS_FIELD(info, display) || info->e164[0] != '+')
        return UCD_E_INVALID;
    try {
        return describe(static_cast<phonenumber_shim *>(shim), country_code, info);
    } catch (const std::exception &) {
        return UCD_E_INVALID;
    }
}
