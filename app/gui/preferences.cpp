// SPDX-License-Identifier: MIT
#include "gui/preferences.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace specvla::app {

namespace {

using widgets::Theme;

QString key(const char* k) {
    return QString::fromLatin1(k);
}

// An integer setting: fallback when absent or not an integer, else clamped into [lo, hi].
int readInt(const QSettings& s, const char* k, int fallback, int lo, int hi) {
    const QVariant v = s.value(key(k));
    if (!v.isValid()) return fallback;
    bool ok = false;
    // Ini files hold strings: "1600" converts, "12px" and "1e3" do not.
    const qlonglong n = v.toString().trimmed().toLongLong(&ok);
    if (!ok) return fallback;
    return static_cast<int>(std::clamp<qlonglong>(n, lo, hi));
}

double readDouble(const QSettings& s, const char* k, double fallback, double lo, double hi) {
    const QVariant v = s.value(key(k));
    if (!v.isValid()) return fallback;
    bool ok = false;
    const double x = v.toString().trimmed().toDouble(&ok);
    if (!ok || !std::isfinite(x)) return fallback;
    return std::clamp(x, lo, hi);
}

// QVariant::toBool() calls any string but "", "0" and "false" true; only real booleans count here.
bool readBool(const QSettings& s, const char* k, bool fallback) {
    const QVariant v = s.value(key(k));
    if (!v.isValid()) return fallback;
    const QString t = v.toString().trimmed().toLower();
    if (t == QLatin1String("true") || t == QLatin1String("1")) return true;
    if (t == QLatin1String("false") || t == QLatin1String("0")) return false;
    return fallback;
}

} // namespace

Preferences Preferences::load() {
    const QSettings settings;
    return load(settings);
}

Preferences Preferences::load(const QSettings& s) {
    const Preferences d;
    Preferences p;
    p.theme = widgets::themeFromKey(s.value(key(kThemeKey)).toString()).value_or(d.theme);
    p.exportWidth = readInt(s, kExportWidthKey, d.exportWidth, kMinExportSize, kMaxExportSize);
    p.exportHeight = readInt(s, kExportHeightKey, d.exportHeight, kMinExportSize, kMaxExportSize);
    p.exportDpi = readDouble(s, kExportDpiKey, d.exportDpi, kMinExportDpi, kMaxExportDpi);
    p.defaultMargin = readInt(s, kDefaultMarginKey, d.defaultMargin, 0, kMaxDefaultMargin);
    p.autosaveEnabled = readBool(s, kAutosaveEnabledKey, d.autosaveEnabled);
    p.autosaveSeconds =
        readInt(s, kAutosaveSecondsKey, d.autosaveSeconds, kMinAutosaveSeconds, kMaxAutosaveSeconds);
    return p;
}

void Preferences::save() const {
    QSettings settings;
    save(settings);
}

void Preferences::save(QSettings& s) const {
    const Preferences p = clamped();
    s.setValue(key(kThemeKey), widgets::themeKey(p.theme));
    s.setValue(key(kExportWidthKey), p.exportWidth);
    s.setValue(key(kExportHeightKey), p.exportHeight);
    s.setValue(key(kExportDpiKey), p.exportDpi);
    s.setValue(key(kDefaultMarginKey), p.defaultMargin);
    s.setValue(key(kAutosaveEnabledKey), p.autosaveEnabled);
    s.setValue(key(kAutosaveSecondsKey), p.autosaveSeconds);
}

Preferences Preferences::clamped() const {
    Preferences p = *this;
    p.exportWidth = std::clamp(p.exportWidth, kMinExportSize, kMaxExportSize);
    p.exportHeight = std::clamp(p.exportHeight, kMinExportSize, kMaxExportSize);
    p.exportDpi = std::isfinite(p.exportDpi) ? std::clamp(p.exportDpi, kMinExportDpi, kMaxExportDpi)
                                             : Preferences{}.exportDpi;
    p.defaultMargin = std::clamp(p.defaultMargin, 0, kMaxDefaultMargin);
    p.autosaveSeconds = std::clamp(p.autosaveSeconds, kMinAutosaveSeconds, kMaxAutosaveSeconds);
    return p;
}

bool Preferences::operator==(const Preferences& o) const {
    return theme == o.theme && exportWidth == o.exportWidth && exportHeight == o.exportHeight &&
           exportDpi == o.exportDpi && defaultMargin == o.defaultMargin &&
           autosaveEnabled == o.autosaveEnabled && autosaveSeconds == o.autosaveSeconds;
}

PreferencesDialog::PreferencesDialog(const Preferences& preferences, QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("PreferencesDialog"));
    setWindowTitle(tr("Preferences"));

    m_theme = new QComboBox(this);
    m_theme->setObjectName(QStringLiteral("PrefTheme"));
    for (Theme t : {Theme::System, Theme::Light, Theme::Dark})
        m_theme->addItem(widgets::themeDisplayName(t), widgets::themeKey(t));

    auto spin = [this](const char* name, int lo, int hi, const QString& suffix) {
        auto* box = new QSpinBox(this);
        box->setObjectName(QString::fromLatin1(name));
        box->setRange(lo, hi);
        box->setSuffix(suffix);
        return box;
    };
    m_exportWidth =
        spin("PrefExportWidth", Preferences::kMinExportSize, Preferences::kMaxExportSize, tr(" px"));
    m_exportHeight =
        spin("PrefExportHeight", Preferences::kMinExportSize, Preferences::kMaxExportSize, tr(" px"));
    m_exportDpi = new QDoubleSpinBox(this);
    m_exportDpi->setObjectName(QStringLiteral("PrefExportDpi"));
    m_exportDpi->setRange(Preferences::kMinExportDpi, Preferences::kMaxExportDpi);
    m_exportDpi->setDecimals(0);
    m_exportDpi->setSuffix(tr(" dpi"));
    m_defaultMargin = spin("PrefDefaultMargin", 0, Preferences::kMaxDefaultMargin, tr(" bins"));
    m_defaultMargin->setToolTip(tr("The relaxed-acceptance margin r a new decode starts with."));
    m_autosave = new QCheckBox(tr("Save a recovery copy of the session every"), this);
    m_autosave->setObjectName(QStringLiteral("PrefAutosave"));
    m_autosaveSeconds = spin("PrefAutosaveSeconds", Preferences::kMinAutosaveSeconds,
                             Preferences::kMaxAutosaveSeconds, tr(" s"));
    connect(m_autosave, &QCheckBox::toggled, this, &PreferencesDialog::updateEnabled);

    auto* appearance = new QGroupBox(tr("Appearance"), this);
    auto* appearanceForm = new QFormLayout(appearance);
    appearanceForm->addRow(tr("&Theme:"), m_theme);

    auto* exportBox = new QGroupBox(tr("Plot export"), this);
    auto* exportForm = new QFormLayout(exportBox);
    exportForm->addRow(tr("&Width:"), m_exportWidth);
    exportForm->addRow(tr("&Height:"), m_exportHeight);
    exportForm->addRow(tr("&Resolution:"), m_exportDpi);

    auto* decodeBox = new QGroupBox(tr("Decoding and sessions"), this);
    auto* decodeForm = new QFormLayout(decodeBox);
    decodeForm->addRow(tr("Default &margin:"), m_defaultMargin);
    decodeForm->addRow(m_autosave, m_autosaveSeconds);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel |
                                             QDialogButtonBox::RestoreDefaults,
                                         Qt::Horizontal, this);
    buttons->setObjectName(QStringLiteral("PrefButtons"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            &PreferencesDialog::restoreDefaults);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(appearance);
    layout->addWidget(exportBox);
    layout->addWidget(decodeBox);
    layout->addStretch(1);
    layout->addWidget(buttons);

    setPreferences(preferences);
}

Preferences PreferencesDialog::preferences() const {
    Preferences p;
    p.theme = widgets::themeFromKey(m_theme->currentData().toString()).value_or(widgets::Theme::System);
    p.exportWidth = m_exportWidth->value();
    p.exportHeight = m_exportHeight->value();
    p.exportDpi = m_exportDpi->value();
    p.defaultMargin = m_defaultMargin->value();
    p.autosaveEnabled = m_autosave->isChecked();
    p.autosaveSeconds = m_autosaveSeconds->value();
    return p;
}

void PreferencesDialog::setPreferences(const Preferences& preferences) {
    const Preferences p = preferences.clamped();
    m_theme->setCurrentIndex(std::max(0, m_theme->findData(widgets::themeKey(p.theme))));
    m_exportWidth->setValue(p.exportWidth);
    m_exportHeight->setValue(p.exportHeight);
    m_exportDpi->setValue(p.exportDpi);
    m_defaultMargin->setValue(p.defaultMargin);
    m_autosave->setChecked(p.autosaveEnabled);
    m_autosaveSeconds->setValue(p.autosaveSeconds);
    updateEnabled();
}

void PreferencesDialog::restoreDefaults() {
    setPreferences(Preferences{});
}

void PreferencesDialog::updateEnabled() {
    m_autosaveSeconds->setEnabled(m_autosave->isChecked());
}

} // namespace specvla::app
