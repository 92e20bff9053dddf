// SPDX-License-Identifier: MIT
#include "gui/session_controller.h"

#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "message_bar.h"

#include <QDir>
#include <QFileInfo>

#include <exception>

namespace specvla::app {

SessionController::SessionController(DecodeController* decode, widgets::MessageBar* messages, QObject* parent)
    : QObject(parent), m_decode(decode), m_messages(messages) {}

bool SessionController::open(const QString& path, std::optional<int> stepOverride) {
    session::Session s;
    try {
        s = session::readSession(QDir::toNativeSeparators(path).toStdString());
    } catch (const std::exception& e) {
        if (m_messages)
            m_messages->showError(tr("Cannot open the session: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    m_path = QFileInfo(path).absoluteFilePath();
    m_missing.clear();
    const QString model = QString::fromStdString(s.model);
    const QString draft = s.draft ? QString::fromStdString(*s.draft) : QString();
    const QString episode = QString::fromStdString(s.episodes);
    QStringList problems;
    auto check = [&](const QString& p, const QString& what) {
        if (p.isEmpty() || QFileInfo::exists(p)) return true;
        m_missing << p;
        problems << tr("the %1 %2 does not exist").arg(what, QDir::toNativeSeparators(p));
        return false;
    };
    check(model, tr("model folder"));
    check(draft, tr("draft head folder"));
    check(episode, tr("episode file"));

    QObject::disconnect(m_pendingStep);
    if (!problems.isEmpty()) {
        // Open and apply none of it: a half-opened session would decode something else than it describes, and
        // the load's own messages would replace this one. (Relocating files is a later dialog's job.)
        if (m_messages)
            m_messages->showError(
                tr("Cannot open session %1: %2. Move the file back, or open the inputs with "
                   "File ▸ Open Model / Draft Head / Episode.")
                    .arg(QDir::toNativeSeparators(path), problems.join(QStringLiteral("; "))));
        return true;
    }
    if (DecodeControls* c = m_decode->views().controls) {
        c->setUnnormKey(s.unnormKey ? QString::fromStdString(*s.unnormKey) : QString());
        c->applySettings(s.settings);
    }
    m_decode->openModel(model, draft);
    const int step = stepOverride.value_or(s.step);
    m_pendingStep = connect(m_decode, &DecodeController::episodeReady, this, [this, step](int) {
        QObject::disconnect(m_pendingStep);
        m_decode->setCurrentStep(step);
    });
    m_decode->openEpisode(episode);
    Q_EMIT opened(m_path);
    return true;
}

session::Session SessionController::current() const {
    session::Session s;
    s.model = m_decode->modelDir().toStdString();
    if (!m_decode->draftDir().isEmpty()) s.draft = m_decode->draftDir().toStdString();
    s.episodes = m_decode->episodePath().toStdString();
    if (const DecodeControls* c = m_decode->views().controls; c && !c->unnormKey().isEmpty())
        s.unnormKey = c->unnormKey().toStdString();
    s.settings = m_decode->settings();
    s.step = m_decode->currentStep();
    return s;
}

bool SessionController::save(const QString& path) {
    if (m_decode->modelDir().isEmpty() || m_decode->episodePath().isEmpty()) {
        if (m_messages)
            m_messages->showWarning(tr("Nothing to save yet: open a model and an episode first."));
        return false;
    }
    try {
        session::writeSession(path.toStdString(), current());
    } catch (const std::exception& e) {
        if (m_messages)
            m_messages->showError(tr("Cannot save the session: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    m_path = QFileInfo(path).absoluteFilePath();
    Q_EMIT saved(m_path);
    return true;
}

} // namespace specvla::app
