// SPDX-License-Identifier: MIT
#include "gui/decode_controls.h"

#include "common/runtime.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

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

void DecodeControls::emitSettings() {
    Q_EMIT settingsChanged(settings());
}

} // namespace specvla::app
