// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "common/log.h"
#include "common/runtime.h"

#include <ATen/Parallel.h>

#include <QtTest>

#include <vector>

class TestCommon : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void torchThreadsAreSetExplicitly() {
        QVERIFY(specvla::availableCores() >= 1);
        QCOMPARE(specvla::initTorchThreads(), specvla::availableCores());
        QCOMPARE(at::get_num_threads(), specvla::availableCores());
        QCOMPARE(specvla::initTorchThreads(1), 1);
        QCOMPARE(specvla::torchThreads(), 1);
        specvla::initTorchThreads();
    }

    void cudaQueriesNeverThrow() {
        const bool available = specvla::cudaAvailable();
        if (available) QVERIFY(specvla::cudaCompiledIn());
        QVERIFY(specvla::cudaDeviceCount() >= (available ? 1 : 0));
#if !SPECVLA_WITH_CUDA
        QVERIFY(!available);
        QCOMPARE(specvla::cudaDeviceCount(), 0);
#endif
    }

    void versions() {
        QCOMPARE(QString(specvla::specvlaVersion()), QString("0.1.0"));
        QVERIFY(!specvla::torchVersion().empty());
    }

    void logSinkReceivesMessages() {
        std::vector<std::pair<specvla::LogLevel, std::string>> seen;
        specvla::setLogSink([&](specvla::LogLevel l, const std::string& m) { seen.emplace_back(l, m); });
        specvla::log(specvla::LogLevel::Warning, "hello");
        specvla::setLogSink(nullptr);
        specvla::log(specvla::LogLevel::Error, "dropped");
        QCOMPARE(seen.size(), std::size_t(1));
        QCOMPARE(seen[0].second, std::string("hello"));
        QCOMPARE(std::string(specvla::logLevelName(seen[0].first)), std::string("warning"));
    }
};

QTEST_GUILESS_MAIN(TestCommon)
#include "test_common.moc"
