// SPDX-License-Identifier: MIT
#include "gui/decode_controls.h"

#include "common/runtime.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace specvla::app {

namespace {

QSpinBox* spinBox(QWidget* parent, int min, int max, int value, const QString& tip) {
    auto* spin = new QSpinBox(parent);
    spin->setRange(min, max);
    spin->setValue(value);
    spin->setToolTip(tip);
    return spin;
}

} // namespace

DecodeControls::DecodeControls(QWidget* parent) : QDockWidget(tr("Decoding"), parent) {
    setObjectName(QStringLiteral("DecodeControlsDock"));
    const decode::DecodeSettings defaults;
    auto* body = new QWidget(this);
    auto* form = new QFormLayout(body);

    m_marginSlider = new QSlider(Qt::Horizontal, body);
    m_marginSlider->setObjectName(QStringLiteral("MarginSlider"));
    m_marginSlider->setRange(0, kMaxMargin);
    m_marginSlider->setValue(defaults.margin);
    m_marginSlider->setToolTip(tr("Relaxed acceptance: a draft bin within this many bins of the target's "
                                  "bin is accepted"));
    m_marginSpin = spinBox(body, 0, kMaxMargin, defaults.margin, m_marginSlider->toolTip());
    auto* marginRow = new QHBoxLayout;
    marginRow->addWidget(m_marginSlider, 1);
    marginRow->addWidget(m_marginSpin);
    form->addRow(tr("Margin"), marginRow);

    // Per-dimension margins: one cell per action dimension; while on they replace the slider's margin.
    m_perDimCheck = new QCheckBox(tr("Per-dimension margins"), body);
    m_perDimCheck->setObjectName(QStringLiteral("PerDimMargins"));
    m_perDimCheck->setToolTip(tr("Use one margin per action dimension instead of the slider's"));
    form->addRow(m_perDimCheck);
    m_perDimTable = new QTableWidget(1, kDims, body);
    m_perDimTable->setObjectName(QStringLiteral("PerDimMarginTable"));
    m_perDimTable->setHorizontalHeaderLabels(
        {tr("x"), tr("y"), tr("z"), tr("roll"), tr("pitch"), tr("yaw"), tr("grip")});
    m_perDimTable->verticalHeader()->hide();
    m_perDimTable->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_perDimTable->horizontalHeader()->setMinimumSectionSize(28);
    m_perDimTable->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_perDimTable->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_perDimTable->setToolTip(tr("Margin in bins per action dimension (0..%1)").arg(kMaxMargin));
    for (int d = 0; d < kDims; ++d) {
        auto* item = new QTableWidgetItem;
        item->setData(Qt::EditRole, defaults.margin);
        item->setTextAlignment(Qt::AlignCenter);
        m_perDimTable->setItem(0, d, item);
    }
    m_perDimTable->setFixedHeight(m_perDimTable->horizontalHeader()->sizeHint().height() +
                                  m_perDimTable->rowHeight(0) + 2 * m_perDimTable->frameWidth());
    m_perDimTable->setEnabled(false);
    form->addRow(m_perDimTable);

    m_mode = new QComboBox(body);
    m_mode->addItem(tr("AR"), int(decode::DecodeMode::Ar));
    m_mode->addItem(tr("Strict"), int(decode::DecodeMode::Strict));
    m_mode->addItem(tr("Relaxed"), int(decode::DecodeMode::Relaxed));
    m_mode->setCurrentIndex(m_mode->findData(int(defaults.mode)));
    form->addRow(tr("Mode"), m_mode);

    m_topK = spinBox(body, 1, 32, defaults.tree.topK, tr("Children per expanded node"));
    m_depth = spinBox(body, 1, 8, defaults.tree.depth, tr("Tree expansion steps"));
    m_totalTokens = spinBox(body, 2, 256, defaults.tree.totalTokens, tr("Tree size including the root"));
    form->addRow(tr("Tree top-k"), m_topK);
    form->addRow(tr("Tree depth"), m_depth);
    form->addRow(tr("Total tokens"), m_totalTokens);

    m_device = new QComboBox(body);
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    if (specvla::cudaAvailable()) m_device->addItem(tr("CUDA"), QStringLiteral("cuda"));
    m_dtype = new QComboBox(body);
    m_dtype->addItem(QStringLiteral("fp32"), QStringLiteral("fp32"));
    m_dtype->addItem(QStringLiteral("bf16"), QStringLiteral("bf16"));
    if (m_device->count() > 1) { // a GPU: the real model wants it, in bf16
        m_device->setCurrentIndex(1);
        m_dtype->setCurrentIndex(1);
    }
    m_unnormKey = new QLineEdit(body);
    m_unnormKey->setPlaceholderText(tr("the model's only key"));
    m_unnormKey->setToolTip(tr("Dataset statistics used to un-normalise actions (e.g. libero_spatial)"));
    form->addRow(tr("Device"), m_device);
    form->addRow(tr("Dtype"), m_dtype);
    form->addRow(tr("Statistics key"), m_unnormKey);

    m_run = new QPushButton(tr("Run Episode"), body);
    m_sweep = new QPushButton(tr("Sweep"), body);
    m_cancel = new QPushButton(tr("Cancel"), body);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_sweep);
    buttons->addWidget(m_cancel);
    form->addRow(buttons);
    setWidget(body);

    connect(m_marginSlider, &QSlider::valueChanged, this, [this](int v) {
        const QSignalBlocker block(m_marginSpin);
        m_marginSpin->setValue(v);
        emitSettings();
    });
    connect(m_marginSpin, qOverload<int>(&QSpinBox::valueChanged), m_marginSlider, &QSlider::setValue);
    connect(m_perDimCheck, &QCheckBox::toggled, this, &DecodeControls::onPerDimToggled);
    connect(m_perDimTable, &QTableWidget::itemChanged, this, &DecodeControls::onPerDimEdited);
    connect(m_mode, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { emitSettings(); });
    for (QSpinBox* spin : {m_topK, m_depth, m_totalTokens})
        connect(spin, qOverload<int>(&QSpinBox::valueChanged), this, [this] { emitSettings(); });
    connect(m_device, qOverload<int>(&QComboBox::currentIndexChanged), this, &DecodeControls::runtimeChanged);
    connect(m_dtype, qOverload<int>(&QComboBox::currentIndexChanged), this, &DecodeControls::runtimeChanged);
    connect(m_unnormKey, &QLineEdit::editingFinished, this, [this] {
        if (m_unnormKey->isModified()) Q_EMIT runtimeChanged();
        m_unnormKey->setModified(false);
    });
    connect(m_run, &QPushButton::clicked, this, &DecodeControls::runRequested);
    connect(m_sweep, &QPushButton::clicked, this, &DecodeControls::sweepRequested);
    connect(m_cancel, &QPushButton::clicked, this, &DecodeControls::cancelRequested);
}

decode::DecodeSettings DecodeControls::settings() const {
    decode::DecodeSettings s;
    s.mode = static_cast<decode::DecodeMode>(m_mode->currentData().toInt());
    s.margin = m_marginSlider->value();
    s.marginPerDim = marginsPerDim();
    s.tree.topK = m_topK->value();
    s.tree.depth = m_depth->value();
    s.tree.totalTokens = m_totalTokens->value();
    return s;
}

QString DecodeControls::device() const {
    return m_device->currentData().toString();
}

QString DecodeControls::dtype() const {
    return m_dtype->currentData().toString();
}

QString DecodeControls::unnormKey() const {
    return m_unnormKey->text().trimmed();
}

void DecodeControls::setUnnormKey(const QString& key) {
    const QSignalBlocker block(m_unnormKey);
    m_unnormKey->setText(key);
}

void DecodeControls::setDtype(const QString& dtype) {
    const QSignalBlocker block(m_dtype);
    const int i = m_dtype->findData(dtype);
    if (i >= 0) m_dtype->setCurrentIndex(i);
}

void DecodeControls::setMargin(int margin) {
    m_marginSlider->setValue(margin);
}

std::optional<std::array<int, DecodeControls::kDims>> DecodeControls::marginsPerDim() const {
    if (!m_perDimCheck->isChecked()) return std::nullopt;
    std::array<int, kDims> margins{};
    for (int d = 0; d < kDims; ++d)
        margins[d] = std::clamp(m_perDimTable->item(0, d)->data(Qt::EditRole).toInt(), 0, kMaxMargin);
    return margins;
}

void DecodeControls::setMarginsPerDim(const std::optional<std::array<int, kDims>>& margins) {
    const decode::DecodeSettings before = settings();
    {
        const QSignalBlocker blockCheck(m_perDimCheck), blockTable(m_perDimTable);
        if (margins)
            for (int d = 0; d < kDims; ++d)
                m_perDimTable->item(0, d)->setData(Qt::EditRole, std::clamp((*margins)[d], 0, kMaxMargin));
        m_perDimCheck->setChecked(margins.has_value());
        m_perDimTable->setEnabled(margins.has_value());
        m_marginSlider->setEnabled(!margins);
        m_marginSpin->setEnabled(!margins);
    }
    if (settings().marginPerDim != before.marginPerDim) emitSettings();
}

void DecodeControls::onPerDimToggled(bool on) {
    m_perDimTable->setEnabled(on);
    m_marginSlider->setEnabled(!on);
    m_marginSpin->setEnabled(!on);
    if (on) { // a table never edited starts from the slider's margin
        const auto current = marginsPerDim();
        const bool uniform =
            std::all_of(current->begin(), current->end(), [&](int m) { return m == (*current)[0]; });
        if (uniform) {
            const QSignalBlocker block(m_perDimTable);
            for (int d = 0; d < kDims; ++d)
                m_perDimTable->item(0, d)->setData(Qt::EditRole, m_marginSlider->value());
        }
    }
    emitSettings();
}

void DecodeControls::onPerDimEdited() {
    // Typed values outside 0..kMaxMargin are shown clamped, as they are used.
    {
        const QSignalBlocker block(m_perDimTable);
        for (int d = 0; d < kDims; ++d) {
            QTableWidgetItem* item = m_perDimTable->item(0, d);
            bool ok = false;
            const int v = item->data(Qt::EditRole).toInt(&ok);
            const int clamped = ok ? std::clamp(v, 0, kMaxMargin) : 0;
            if (!ok || clamped != v || item->data(Qt::EditRole).userType() != QMetaType::Int)
                item->setData(Qt::EditRole, clamped);
        }
    }
    if (m_perDimCheck->isChecked()) emitSettings();
}

void DecodeControls::applySettings(const decode::DecodeSettings& s) {
    {
        const QSignalBlocker b1(m_marginSlider), b2(m_marginSpin), b3(m_mode), b4(m_topK), b5(m_depth),
            b6(m_totalTokens);
        const int margin = std::clamp(s.margin, 0, kMaxMargin);
        m_marginSlider->setValue(margin);
        m_marginSpin->setValue(margin);
        const int mode = m_mode->findData(int(s.mode));
        if (mode >= 0) m_mode->setCurrentIndex(mode);
        m_topK->setValue(s.tree.topK);
        m_depth->setValue(s.tree.depth);
        m_totalTokens->setValue(s.tree.totalTokens);
    }
    {
        const QSignalBlocker block(this); // one settingsChanged below
        setMarginsPerDim(s.marginPerDim);
    }
    emitSettings();
}

bool DecodeControls::setDevice(const QString& device) {
    const int i = m_device->findData(device.trimmed().toLower());
    if (i < 0) return false;
    m_device->setCurrentIndex(i); // runtimeChanged when it changes
    return true;
}

QStringList DecodeControls::devices() const {
    QStringList list;
    for (int i = 0; i < m_device->count(); ++i)
        list << m_device->itemData(i).toString();
    return list;
}

void DecodeControls::emitSettings() {
    Q_EMIT settingsChanged(settings());
}

} // namespace specvla::app
